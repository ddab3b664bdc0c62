"""The pixel-space U-Net, its training, classifier-free guidance, and their input checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.topics import diffusion
from course_utils.topics import diffusion_unet as du


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs on one thread (small convolutions only wait for each other otherwise)."""


def test_unet_shapes_and_zero_start():
    model = du.TinyUNet(channels=8)
    t = torch.tensor([1, 50, 100])
    flat, images = torch.randn(3, 64), torch.randn(3, 1, 8, 8)
    assert model(flat, t).shape == (3, 64)
    assert model(images, t).shape == (3, 1, 8, 8)
    assert torch.equal(model(flat, t), torch.zeros(3, 64))  # the output conv starts at zero
    conditional = du.TinyUNet(channels=8, n_classes=10)
    assert conditional.null_label == 10 and conditional(flat, t, torch.tensor([0, 9, 10])).shape == (3, 64)
    assert conditional(flat, t).shape == (3, 64)  # no labels: the null label


def test_labels_change_the_output_of_a_conditional_net():
    torch.manual_seed(0)
    model = du.TinyUNet(channels=8, n_classes=10)
    nn.init.normal_(model.out.weight, std=0.1)
    x, t = torch.randn(2, 64), torch.tensor([30, 30])
    a, b = model(x, t, torch.tensor([1, 1])), model(x, t, torch.tensor([7, 7]))
    assert not torch.allclose(a, b)
    assert torch.equal(du.WithLabels(model, torch.tensor([7, 7]))(x, t), b)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m(torch.randn(3, 63), torch.tensor([1, 2, 3])), r"\(N, 64\)"),
        (lambda m: m(torch.randn(3, 8, 8), torch.tensor([1, 2, 3])), "unsqueeze"),
        (lambda m: m(torch.randn(3, 3, 8, 8), torch.tensor([1, 2, 3])), r"\(N, 1, 8, 8\)"),
        (lambda m: m(torch.zeros(3, 64, dtype=torch.long), torch.tensor([1, 2, 3])), "float"),
        (lambda m: m(torch.randn(3, 64), torch.tensor([1, 2])), "one time per image"),
        (lambda m: m(torch.randn(3, 64), torch.tensor([1, 2, 3]), torch.tensor([0, 1, 11])), r"0\.\.10"),
        (lambda m: m(torch.randn(3, 64), torch.tensor([1, 2, 3]), torch.tensor([0, -1, 2])), r"0\.\.10"),
        (lambda m: m(torch.randn(3, 64), torch.tensor([1, 2, 3]), torch.tensor([0.0, 1.0, 2.0])), "integer"),
        (lambda m: m(torch.randn(3, 64), torch.tensor([1, 2, 3]), torch.tensor([0, 1])), r"shape \(3,\)"),
    ],
)
def test_bad_inputs_to_the_unet(call, message):
    with pytest.raises(ValueError, match=message):
        call(du.TinyUNet(channels=8, n_classes=10))


def test_bad_construction_and_unconditional_labels():
    with pytest.raises(ValueError, match="multiple of 8"):
        du.TinyUNet(channels=12)
    with pytest.raises(ValueError, match="n_classes"):
        du.TinyUNet(channels=8, n_classes=1)
    plain = du.TinyUNet(channels=8)
    with pytest.raises(ValueError, match="unconditional"):
        plain(torch.randn(2, 64), torch.tensor([1, 2]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="no null label"):
        _ = plain.null_label


def test_drop_labels():
    labels = torch.arange(10).repeat(100)
    g = torch.Generator().manual_seed(0)
    dropped = du.drop_labels(labels, 0.2, 10, g)
    share = float((dropped == 10).double().mean())
    assert 0.15 < share < 0.25
    kept = dropped != 10
    assert torch.equal(dropped[kept], labels[kept])
    assert torch.equal(du.drop_labels(labels, 0.0, 10, g), labels)
    assert bool((du.drop_labels(labels, 1.0, 10, g) == 10).all())
    with pytest.raises(ValueError, match="p_uncond"):
        du.drop_labels(labels, 1.5, 10, g)


class Affine(nn.Module):
    """A fake conditional ε-predictor: ε̂ = x + label (the null label 10 counts as 0)."""

    n_classes = 10
    null_label = 10

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x, t, labels):
        self.calls += 1
        return x + torch.where(labels == 10, 0, labels).float()[:, None]


def test_guidance_mixes_the_two_estimates():
    model = Affine()
    x, t, labels = torch.randn(4, 64), torch.full((4,), 5), torch.tensor([1, 2, 3, 4])
    for w in (0, 1, 2.5, 3):
        expected = x + w * labels.float()[:, None]  # ε_u + w (ε_c − ε_u) with ε_u = x, ε_c = x + y
        assert torch.allclose(du.Guided(model, labels, w)(x, t), expected)
    model.calls = 0
    du.Guided(model, labels, 0)(x, t)
    du.Guided(model, labels, 1)(x, t)
    assert model.calls == 2  # w = 0 and w = 1 need only one branch
    for bad in (-0.5, float("nan"), "3", True):
        with pytest.raises(ValueError, match="guidance weight"):
            du.Guided(model, labels, bad)
    with pytest.raises(ValueError, match="0..9"):
        du.Guided(model, torch.tensor([1, 10, 3, 4]), 2.0)  # the null label is not a request
    with pytest.raises(ValueError, match="class-conditional"):
        du.Guided(du.TinyUNet(channels=8), labels, 2.0)


def test_training_is_deterministic_and_learns():
    schedule = diffusion.cosine_schedule(20)
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(64, 64, generator=g) > 0.5).float() * 2 - 1
    labels = torch.arange(10).repeat(7)[:64]
    recipe = du.UNetRecipe(channels=8, steps=30, batch_size=16, warmup=5, ema=0.9)
    state = torch.get_rng_state()
    first = du.train_unet(images, schedule, labels=labels, recipe=recipe, seed=1)
    second = du.train_unet(images, schedule, labels=labels, recipe=recipe, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.losses == second.losses and len(first.losses) == 30
    assert sum(first.losses[-5:]) < sum(first.losses[:5])
    assert not first.model.training and first.model.n_classes == 10
    plain = du.train_unet(images, schedule, recipe=du.UNetRecipe(channels=8, steps=3, batch_size=4), seed=0)
    assert plain.model.n_classes is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": torch.zeros(5, 8, 8)}, r"\(N, 64\)"),
        ({"images": torch.full((5, 64), 16.0)}, r"\[-1, 1\]"),
        ({"labels": torch.tensor([0, 1, 2, 3, 10])}, r"0\.\.9"),
        ({"labels": torch.tensor([0, 1])}, r"shape \(5,\)"),
        ({"recipe": du.UNetRecipe(steps=0)}, "steps"),
        ({"recipe": du.UNetRecipe(p_uncond=2.0, steps=1, batch_size=2)}, "p_uncond"),
    ],
)
def test_bad_training_inputs(kwargs, message):
    args = {"images": torch.zeros(5, 64), "labels": torch.arange(5)} | kwargs
    with pytest.raises(ValueError, match=message):
        du.train_unet(args["images"], diffusion.cosine_schedule(10), labels=args["labels"],
                      recipe=args.get("recipe", du.UNetRecipe(channels=8, steps=1, batch_size=2)))


def test_sampling_shapes_range_and_seeds():
    schedule = diffusion.cosine_schedule(10)
    torch.manual_seed(0)
    model = du.TinyUNet(channels=8, n_classes=10).eval()
    nn.init.normal_(model.out.weight, std=0.1)
    labels = du.requested_labels(20)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    assert torch.bincount(du.requested_labels(359)).tolist() == [36] * 9 + [35]
    for kwargs in ({}, {"labels": labels, "w": 3.0}, {"labels": labels, "w": 0.0, "steps": 4}):
        out = du.sample(model, schedule, 20, seed=1, **kwargs)
        assert out.shape == (20, 64) and float(out.min()) >= 0 and float(out.max()) <= 1
        assert torch.equal(out, du.sample(model, schedule, 20, seed=1, **kwargs))
    # w = 0 ignores the labels: the same as unconditional sampling
    assert torch.equal(du.sample(model, schedule, 20, labels=labels, w=0.0, seed=2),
                       du.sample(model, schedule, 20, seed=2))
    with pytest.raises(ValueError, match="guidance weight"):
        du.sample(model, schedule, 20, labels=labels, w=-1.0)
    with pytest.raises(ValueError, match="positive int"):
        du.sample(model, schedule, 0)
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        du.sample(model, schedule, 10, labels=labels)
    with pytest.raises(ValueError, match="every digit"):
        du.requested_labels(9)
    grid = du.first_per_class(torch.arange(20.0)[:, None].repeat(1, 64), labels.flip(0), 2)
    assert grid[:, 0].tolist() == [18.0, 19.0, 16.0, 17.0, 14.0, 15.0, 12.0, 13.0, 10.0, 11.0, 8.0, 9.0, 6.0, 7.0,
                                   4.0, 5.0, 2.0, 3.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="only 2 images"):
        du.first_per_class(torch.zeros(20, 64), labels, 3)


def test_requested_accuracy_on_real_digits():
    from course_utils.data import digits_split

    split = digits_split(test_fraction=0.2, seed=0)
    images, labels = split.X_test[:200], split.y_test[:200]
    assert du.requested_accuracy(images, labels) > 0.9
    assert du.requested_accuracy(images, (labels + 1) % 10) < 0.1
    with pytest.raises(ValueError, match=r"0\.\.9"):
        du.requested_accuracy(images, torch.full((200,), 10))


def test_within_class_spread():
    labels = torch.tensor([0, 0, 1, 1, 2])
    images = torch.zeros(5, 64)
    images[1, 0] = 2.0  # class 0: two images 2 apart, each 1 from their mean
    assert du.within_class_spread(images, labels) == pytest.approx(0.5)  # class 1 has spread 0; class 2 is alone
    with pytest.raises(ValueError, match="two images"):
        du.within_class_spread(images[:1], labels[:1])
    with pytest.raises(ValueError, match=r"0\.\.9"):
        du.within_class_spread(images, torch.tensor([0, 0, 1, 1, 12]))


def test_figures():
    images = torch.rand(30, 64)
    fig = du.guidance_grid_figure({"w = 0": images, "w = 3": images}, per_class=3)
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [str(d) for d in range(10)]
    with pytest.raises(ValueError, match="30 images"):
        du.guidance_grid_figure({"w = 0": images[:20]}, per_class=3)
    with pytest.raises(ValueError, match="at least one"):
        du.guidance_grid_figure({}, per_class=3)
    assert len(du.tradeoff_figure([0, 1, 3], [0.5, 0.8, 0.9], [10, 9, 12]).axes) == 2
    with pytest.raises(ValueError, match="same non-zero length"):
        du.tradeoff_figure([0, 1], [0.5], [1, 2])
