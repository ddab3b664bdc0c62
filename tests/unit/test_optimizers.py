"""The from-scratch optimizers, schedules, clipping, range test and widget of notebook 14."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils import data
from course_utils.topics import optimizers


@pytest.fixture(scope="module")
def split():
    """The notebook's split, with the training part cut to 320 digits to keep the tests quick."""
    full = data.digits_split(test_fraction=0.2, val_fraction=0.15, seed=0)
    return data.Split(full.X_train[:320], full.y_train[:320], full.X_val, full.y_val, full.X_test, full.y_test)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_scratch_optimizers_match_torch_step_for_step(name, split):
    torch.manual_seed(0)
    mine, reference = optimizers.step_by_step(name, split.X_train, split.y_train, steps=12)
    assert mine.shape == reference.shape and mine.shape[0] == 12
    assert (mine - reference).abs().max().item() <= 1e-6
    assert not torch.equal(mine[0], mine[-1])  # the weights really moved


def test_nesterov_differs_from_plain_momentum():
    def one_run(nesterov):
        w = torch.tensor([1.0, -2.0], requires_grad=True)
        opt = optimizers.SGD([w], lr=0.1, momentum=0.9, nesterov=nesterov)
        for _ in range(3):
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
        return w.detach()

    assert not torch.allclose(one_run(True), one_run(False))


def test_adamw_decays_and_adam_l2_goes_through_the_moments():
    w1 = torch.tensor([2.0], requires_grad=True)
    w2 = torch.tensor([2.0], requires_grad=True)
    for w, cls in ((w1, optimizers.AdamW), (w2, optimizers.Adam)):
        opt = cls([w], lr=0.1, weight_decay=0.5)
        w.grad = torch.zeros(1)  # no data gradient: only the decay acts
        opt.step()
    assert w1.item() == pytest.approx(2.0 * (1 - 0.1 * 0.5))  # AdamW: a plain shrink
    assert w2.item() == pytest.approx(2.0 - 0.1, abs=1e-6)   # Adam + L2: normalised to a step of size lr


def test_adam_step_sizes():
    assert optimizers.adam_step_sizes(1)[0] == pytest.approx(1.0, abs=1e-6)
    raw = optimizers.adam_step_sizes(1, correct_m=False, correct_v=False)[0]
    assert raw == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-6)
    assert optimizers.adam_step_sizes(1, correct_v=False)[0] == pytest.approx(1 / math.sqrt(0.001), rel=1e-6)
    assert optimizers.adam_step_sizes(5000, correct_m=False, correct_v=False)[-1] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kind", optimizers.SCHEDULES)
@pytest.mark.parametrize(("total", "warmup"), [(50, 5), (101, 30), (7, 1)])
def test_schedules_match_torch(kind, total, warmup):
    mine = optimizers.scratch_schedule(kind, 0.3, total, warmup=warmup)
    theirs = optimizers.torch_schedule(kind, 0.3, total, warmup=warmup)
    assert len(mine) == total
    assert max(abs(a - b) for a, b in zip(mine, theirs, strict=True)) <= 1e-9


def test_schedule_shapes():
    warm = optimizers.scratch_schedule("warm-up + cosine", 1.0, 100, warmup=10)
    assert warm[0] == pytest.approx(0.1) and warm[10] == pytest.approx(1.0) and warm[-1] < 0.01
    cycle = optimizers.scratch_schedule("one-cycle", 1.0, 100)
    assert cycle[0] == pytest.approx(1 / 25) and max(cycle) == pytest.approx(1.0, abs=1e-3) and cycle[-1] < 1e-5


def test_schedule_bad_input():
    with pytest.raises(ValueError, match="unknown schedule"):
        optimizers.scratch_schedule("linear", 0.1, 10)
    with pytest.raises(ValueError, match="warm-up steps"):
        optimizers.scratch_schedule("warm-up + cosine", 0.1, 10, warmup=0)
    with pytest.raises(ValueError, match="at least 2"):
        optimizers.torch_schedule("cosine", 0.1, 1)


def test_optimizer_bad_input():
    with pytest.raises(ValueError, match="no parameters"):
        optimizers.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="positive number"):
        optimizers.Adam([torch.zeros(1, requires_grad=True)], lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optimizers.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optimizers.Adam([torch.zeros(1, requires_grad=True)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.torch_optimizer("lion", [torch.zeros(1, requires_grad=True)], 0.1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.step_by_step("lion", torch.zeros(4, 64), torch.zeros(4, dtype=torch.int64))


def test_clip_grad_norm_matches_torch():
    torch.manual_seed(0)
    a = [torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
    b = [p.detach().clone().requires_grad_(True) for p in a]
    for group in (a, b):
        sum((p**3).sum() for p in group).backward()
    norm_a = optimizers.clip_grad_norm(a, 0.5)
    norm_b = torch.nn.utils.clip_grad_norm_(b, 0.5)
    assert norm_a == pytest.approx(norm_b.item(), rel=1e-6)
    for p, q in zip(a, b, strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-7)
    with pytest.raises(ValueError, match="max_norm"):
        optimizers.clip_grad_norm(a, 0.0)


def test_clip_leaves_small_gradients_alone():
    w = torch.ones(3, requires_grad=True)
    w.grad = torch.tensor([0.1, 0.0, 0.0])
    assert optimizers.clip_grad_norm([w], 1.0) == pytest.approx(0.1)
    assert torch.equal(w.grad, torch.tensor([0.1, 0.0, 0.0]))


def test_train_digits_schedules_and_plateau(split):
    run = optimizers.train_digits(split, "adamw", 1e-2, "one-cycle", epochs=2, seed=0)
    per_epoch = math.ceil(len(split.y_train) / 64)
    assert len(run.lrs) == len(run.train_loss) == 2 * per_epoch and len(run.val_loss) == 2
    assert run.lrs == pytest.approx(optimizers.scratch_schedule("one-cycle", 1e-2, 2 * per_epoch))
    assert 0.0 <= run.val_acc <= 1.0 and not run.diverged
    plateau = optimizers.train_digits(split, "adam", 2e-2, "plateau", epochs=3, seed=0)
    assert set(plateau.lrs[:per_epoch]) == {2e-2}


def test_train_digits_is_seeded_and_clipping_caps_the_step(split):
    a = optimizers.train_digits(split, "sgd", 0.1, epochs=1, seed=3)
    b = optimizers.train_digits(split, "sgd", 0.1, epochs=1, seed=3)
    assert a.train_loss == b.train_loss
    clipped = optimizers.train_digits(split, "momentum", 1.0, epochs=1, seed=0, clip=0.5)
    assert len(clipped.grad_norm) == len(clipped.lrs)


def test_train_digits_flags_divergence(split):
    run = optimizers.train_digits(split, "sgd", 1e30, epochs=2, seed=0)  # the weights overflow to inf
    assert run.diverged and len(run.val_loss) == 0


def test_train_digits_needs_validation_data():
    with pytest.raises(ValueError, match="validation part"):
        optimizers.train_digits(data.digits_split(), "adam", 1e-3)


def test_lr_range_test_and_steepest(split):
    lrs, losses, picked = optimizers.lr_range_test(split, steps=60, seed=0)
    assert len(lrs) == len(losses) and lrs[0] == pytest.approx(1e-4)
    assert all(b > a for a, b in zip(lrs[:-1], lrs[1:], strict=True))
    assert lrs[0] < picked < lrs[-1]
    assert optimizers.steepest_lr([1, 10, 100, 1000, 1e4], [5.0, 4.0, 1.0, 0.9, 9.0]) == 10
    with pytest.raises(ValueError, match="0 < start < end"):
        optimizers.lr_range_test(split, start=1.0, end=0.1)
    with pytest.raises(ValueError, match="at least 3"):
        optimizers.steepest_lr([1, 2], [1.0, 0.5])


def test_decay_experiment(split):
    out = optimizers.decay_experiment(split.X_train, split.y_train, steps=80)
    assert set(out) == {"grad_rms", "Adam + L2", "AdamW"}
    order = out["grad_rms"].argsort()
    quiet, busy = order[:21], order[-21:]
    l2 = out["Adam + L2"][busy].mean() / out["Adam + L2"][quiet].mean()
    decoupled = out["AdamW"][busy].mean() / out["AdamW"][quiet].mean()
    assert l2 > 2 * decoupled


def test_schedule_designer(split, monkeypatch):
    designer = optimizers.ScheduleDesigner(split, epochs=1, seed=0)
    assert designer.redraws == 0 and "validation accuracy" in designer.status.value
    designer.schedule.value = "cosine"
    assert designer.redraws == 1 and designer.run.lrs[-1] < designer.run.lrs[0]
    designer.lr.value = 10**0.5
    designer.optimizer.value = "sgd"
    assert designer.redraws == 3
    shown = []
    monkeypatch.setattr(optimizers.Explorer, "show", lambda self: shown.append(self.description))
    assert designer.show() is None and shown
    plt.close("all")


def test_schedule_designer_reports_divergence(split):
    designer = optimizers.ScheduleDesigner(split, epochs=1, seed=0, optimizer="sgd", schedule="constant", lr=0.1)
    designer.run = optimizers.train_digits(split, "sgd", 1e30, epochs=1, seed=0)
    designer.on_redraw()
    assert designer.run.diverged and "diverged" in designer.status.value
    plt.close("all")


def test_schedule_designer_bad_input(split):
    with pytest.raises(ValueError, match="unknown schedule"):
        optimizers.ScheduleDesigner(split, schedule="linear")
    with pytest.raises(ValueError, match="validation part"):
        optimizers.ScheduleDesigner(data.digits_split())


def test_one_cycle_cycles_momentum_only_when_there_is_one():
    plain = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    optimizers.make_scheduler("one-cycle", plain, 50)
    assert plain.param_groups[0]["momentum"] == 0.0  # plain SGD stays plain SGD
    heavy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    optimizers.make_scheduler("one-cycle", heavy, 50)
    assert heavy.param_groups[0]["momentum"] == pytest.approx(0.95)  # cycled from max_momentum


def test_train_digits_gives_adamw_a_real_decay():
    model = optimizers.small_mlp(0)
    opt = optimizers.torch_optimizer("adamw", model.parameters(), 1e-2, optimizers.ADAMW_DECAY)
    assert opt.param_groups[0]["weight_decay"] == 1e-2
    split = data.digits_split(test_fraction=0.2, val_fraction=0.15, seed=0)
    default = optimizers.train_digits(split, "adamw", 1e-2, epochs=1, seed=0)
    explicit = optimizers.train_digits(split, "adamw", 1e-2, epochs=1, seed=0, weight_decay=1e-2)
    none = optimizers.train_digits(split, "adamw", 1e-2, epochs=1, seed=0, weight_decay=0.0)
    assert default.val_loss == explicit.val_loss and default.val_loss != none.val_loss


def test_quadratic_paths():
    paths = optimizers.quadratic_paths({"SGD": (optimizers.SGD, {"lr": 0.4}),
                                        "Adam": (optimizers.Adam, {"lr": 0.3})}, steps=10)
    assert set(paths) == {"SGD", "Adam"} and paths["SGD"].shape == (11, 2)
    assert paths["SGD"][0].tolist() == [-4.5, 1.5]
    # plain SGD: x shrinks by (1 - 0.4·0.2) per step, y flips by (1 - 0.4·4)
    assert paths["SGD"][1].tolist() == pytest.approx([-4.5 * 0.92, 1.5 * -0.6])
    with pytest.raises(ValueError, match="point"):
        optimizers.quadratic_paths({"SGD": (optimizers.SGD, {"lr": 0.1})}, start=(1.0,))
