"""Helpers of notebook 17: tasks, freezing, parameter groups, checkpoints, the sweep and the explorer."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from course_utils.topics import transfer as tr

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/unit/conftest.py


@pytest.fixture(scope="module")
def tasks():
    return tr.class_task([0, 1, 2, 3, 4]), tr.class_task([5, 6, 7, 8, 9])


def test_class_task_renumbers_and_places(tasks):
    old, new = tasks
    assert old.X_train.shape[1:] == (1, 12, 12) and new.X_test.shape[1:] == (1, 12, 12)
    assert set(new.y_train.tolist()) == set(range(5)) and set(new.y_test.tolist()) == set(range(5))
    assert len(new.y_val) == 0
    X, y = tr.load_digits_tensors(as_images=True)
    assert torch.isclose(new.X_test.sum() + new.X_train.sum(), X[y >= 5].sum())  # the canvas adds only zeros
    again = tr.class_task([5, 6, 7, 8, 9])
    assert torch.equal(again.X_train, new.X_train)


def test_class_task_copies():
    one = tr.class_task([0, 1], canvas=8)
    three = tr.class_task([0, 1], canvas=8, copies=3)
    assert len(three.y_train) == 3 * len(one.y_train)
    assert torch.equal(one.X_train, tr.class_task([0, 1], canvas=8).X_train)


@pytest.mark.parametrize("classes", [[1], [1, 1], [3, 10], ["a", 1], [True, 2]])
def test_class_task_rejects_bad_classes(classes):
    with pytest.raises(ValueError, match="at least two different digits"):
        tr.class_task(classes)


def test_class_task_rejects_bad_copies():
    with pytest.raises(ValueError, match="copies"):
        tr.class_task([0, 1], copies=0)


def test_place_on_canvas_keeps_pixels():
    images = torch.rand(5, 1, 8, 8)
    placed = tr.place_on_canvas(images, 12, generator=torch.Generator().manual_seed(0))
    assert placed.shape == (5, 1, 12, 12)
    assert torch.allclose(placed.sum((1, 2, 3)), images.sum((1, 2, 3)))
    with pytest.raises(ValueError, match="at least the image side"):
        tr.place_on_canvas(images, 6)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        tr.place_on_canvas(torch.rand(5, 8, 8), 12)


def test_labelled_subset_is_balanced():
    labels = torch.arange(5).repeat(20)
    rows = tr.labelled_subset(labels, 12, generator=torch.Generator().manual_seed(0))
    assert len(rows) == 12 and len(rows.unique()) == 12
    counts = torch.bincount(labels[rows], minlength=5)
    assert counts.min() >= 2
    assert torch.equal(rows, tr.labelled_subset(labels, 12, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("n", [4, 101, 2.5, True])
def test_labelled_subset_rejects_bad_n(n):
    with pytest.raises(ValueError, match="number of classes"):
        tr.labelled_subset(torch.arange(5).repeat(20), n)


def test_labelled_subset_rejects_small_class():
    labels = torch.tensor([0] * 10 + [1])
    with pytest.raises(ValueError, match="fewer than"):
        tr.labelled_subset(labels, 6)


def test_small_cnn_counts_and_freeze():
    model = tr.SmallCNN(5)
    assert model(torch.rand(3, 1, 12, 12)).shape == (3, 5)
    assert model(torch.rand(3, 1, 8, 8)).shape == (3, 5)
    assert tr.count_parameters(model) == (24805, 0)
    tr.freeze(model.backbone)
    assert tr.count_parameters(model) == (1285, 23520)
    with pytest.raises(ValueError, match="n_classes"):
        tr.SmallCNN(1)
    with pytest.raises(ValueError, match="nn.Module"):
        tr.count_parameters("model")
    with pytest.raises(ValueError, match="nn.Module"):
        tr.freeze(3)


def test_param_groups():
    model = tr.SmallCNN(5)
    groups = tr.param_groups(model, 1e-3, 0.1)
    opt = torch.optim.Adam(groups)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3])
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="lr must be positive"):
        tr.param_groups(model, 0.0, 0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tr.param_groups(model, 1e-3, 2.0)


def test_bn_running_update_matches_batchnorm():
    bn = nn.BatchNorm1d(3)
    x = torch.randn(16, 3)
    bn.train()(x)
    mean = tr.bn_running_update(torch.zeros(3), x.mean(0))
    assert torch.allclose(mean, bn.running_mean, atol=1e-6)
    with pytest.raises(ValueError, match="momentum"):
        tr.bn_running_update(torch.zeros(3), x.mean(0), momentum=1.5)


def test_checkpoint_roundtrip(tmp_path):
    model = tr.SmallCNN(5)
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 1, 12, 12)).sum().backward()
    opt.step()
    path = tr.save_checkpoint(tmp_path / "c.pt", model, opt, epoch=3)
    ck = tr.load_checkpoint(path)
    assert ck["epoch"] == 3 and set(ck) == {"epoch", "model", "optimizer"}
    other = tr.SmallCNN(5)
    other.load_state_dict(ck["model"])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="does not exist"):
        tr.save_checkpoint(tmp_path / "missing" / "c.pt", model, opt, 0)
    with pytest.raises(ValueError, match="no checkpoint"):
        tr.load_checkpoint(tmp_path / "nothing.pt")
    torch.save({"model": model.state_dict()}, tmp_path / "partial.pt")
    with pytest.raises(ValueError, match="not a full checkpoint"):
        tr.load_checkpoint(tmp_path / "partial.pt")


def test_frozen_route_keeps_backbone(tasks):
    _, new = tasks
    pretrained = tr.SmallCNN(5).state_dict()
    torch.manual_seed(0)
    recipe = tr.Recipe(steps=3, probe_steps=3)
    model = tr.transfer_run("frozen", pretrained, new.X_train[:20], new.y_train[:20], recipe)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, pretrained[f"backbone.{key}"]), key
    assert not model.training
    tuned = tr.transfer_run("fine-tune", pretrained, new.X_train[:20], new.y_train[:20], recipe)
    assert not torch.equal(tuned.backbone[0].weight, pretrained["backbone.0.weight"])
    with pytest.raises(ValueError, match="method must be one of"):
        tr.transfer_run("linear", pretrained, new.X_train[:20], new.y_train[:20])
    with pytest.raises(ValueError, match="X_unlabelled"):
        tr.transfer_run("random frozen", pretrained, new.X_train[:20], new.y_train[:20], recipe)


def test_random_frozen_route_estimates_statistics(tasks):
    _, new = tasks
    torch.manual_seed(0)
    control = tr.transfer_run("random frozen", tr.SmallCNN(5).state_dict(), new.X_train[:20], new.y_train[:20],
                              tr.Recipe(probe_steps=3), X_unlabelled=new.X_train)
    assert not control.training and all(not p.requires_grad for p in control.backbone.parameters())
    assert int(control.backbone[1].num_batches_tracked) == 4 and control.backbone[1].momentum == 0.1
    backbone = tr.SmallCNN(5).backbone
    X = new.X_train[:1].repeat(50, 1, 1, 1)  # one image: every random batch has the same statistics
    tr.estimate_bn_statistics(backbone, X, passes=2, batch_size=50)
    with torch.no_grad():
        first = backbone[0](X)
    assert torch.allclose(backbone[1].running_mean, first.mean((0, 2, 3)), atol=1e-5)
    assert not backbone.training
    with pytest.raises(ValueError, match="passes"):
        tr.estimate_bn_statistics(backbone, X, passes=0)


def test_linear_probe_fits_separable_features():
    torch.manual_seed(0)
    features = torch.cat([torch.randn(20, 4) + 3, torch.randn(20, 4) - 3])
    y = torch.tensor([0] * 20 + [1] * 20)
    head = tr.linear_probe(nn.Linear(4, 2), features, y, tr.Recipe(probe_steps=50))
    assert (head(features).argmax(1) == y).all()


def test_old_task_accuracy_uses_the_given_backbone(tasks):
    old, _ = tasks
    pretrained = tr.SmallCNN(5).state_dict()
    same = tr.old_task_accuracy(pretrained, tr.backbone_state(pretrained), old)
    model = tr.SmallCNN(5)
    model.load_state_dict(pretrained)
    assert same == tr.accuracy(model, old.X_test, old.y_test)


def test_train_steps_rejects_bad_input():
    model = tr.SmallCNN(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        tr.train_steps(model, torch.rand(2, 1, 8, 8), torch.tensor([0, 1]), opt, steps=-1)
    with pytest.raises(ValueError, match="equal length"):
        tr.train_steps(model, torch.rand(2, 1, 8, 8), torch.tensor([0]), opt, steps=1)


def test_sweep_shape_and_figure(tasks):
    _, new = tasks
    pretrained = tr.SmallCNN(5).state_dict()
    res = tr.transfer_sweep(pretrained, new, {5: [0, 1, 2], 10: [0, 1]}, tr.Recipe(steps=2, probe_steps=2))
    assert set(res) == set(tr.METHODS) and all([len(a) for a in v] == [3, 2] for v in res.values())
    assert all(((a >= 0) & (a <= 1)).all() for v in res.values() for a in v)
    assert tr.sweep_seed(500, 4) < 1000 and tr.sweep_seed(10, 14) < 1000
    fig = tr.sweep_figure([5, 10], res, chance=0.2)
    assert len(fig.axes[0].lines) == 5
    plt.close("all")


def test_adapt_resnet18():
    model, changes = tr.adapt_resnet18(1, 5)
    assert set(changes) == {"conv1", "maxpool", "fc"}
    assert "7, 7" in changes["conv1"][0] and "3, 3" in changes["conv1"][1]
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 8, 8)).shape == (2, 5)
    with pytest.raises(ValueError, match="in_channels"):
        tr.adapt_resnet18(0, 5)


def test_explorer_protocol(tasks):
    old, new = tasks
    pretrained = tr.SmallCNN(5).state_dict()
    explorer = tr.TransferExplorer(pretrained, new, old, n=10, steps=25)
    assert explorer.redraws == 0 and "from scratch" in explorer.status.value
    assert explorer.show() is None
    explorer.n.value = 20
    assert explorer.redraws == 1 and "20 labelled" in explorer.fig.axes[0].get_title()
    explorer.factor.value = 0.1
    assert explorer.redraws == 2 and "×0.1" in explorer.status.value
    explorer.seed.value = 3
    assert explorer.redraws == 3 and "seed 3" in explorer.fig.axes[0].get_title()
    plt.close("all")
