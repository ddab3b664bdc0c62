"""Checks of notebook 17: right answers pass, typical mistakes get a hint naming them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex17
from course_utils.topics import transfer as tr


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- 17.1: trainable parameters with only the last block and the head unfrozen


def test_1_right_and_agrees_with_the_model(capsys):
    model = tr.SmallCNN(3)
    tr.freeze(model.backbone)
    for module in (model.backbone[7], model.backbone[8]):
        for p in module.parameters():
            p.requires_grad_(True)
    trainable = tr.count_parameters(model)[0]
    ex17.check_1(trainable)
    assert "✅ Exercise 17.1 passed" in _out(capsys)
    ex17.check_1(torch.tensor(trainable))
    assert "passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(771, "head alone"), (18496 + 771, "γ and β"), (18432 + 128 + 771, "bias per output channel"),
     (18496 + 128 + 768, "head's bias"), (18496 + 256 + 771, "buffers"), (18496 + 128 + 1285, "3 classes"),
     (4640 + 64 + 771, "second block"), (12345, "k²·C_in·C_out")],
)
def test_1_mistakes(answer, hint, capsys):
    ex17.check_1(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


# --- 17.2: the random-backbone control on plain 8x8 digits


def test_2_right(capsys):
    ex17.check_2("smaller")
    assert "✅ Exercise 17.2 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [("larger", "less to transfer"), ("about the same", "canvas makes"), ("bigger", "expected one of"),
     (3, "expected one of")],
)
def test_2_mistakes(answer, hint, capsys):
    ex17.check_2(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


# --- 17.3: learning rates of the parameter groups


def test_3_right_and_agrees_with_torch(capsys):
    backbone, head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW([{"params": backbone.parameters(), "lr": 1e-4}, {"params": head.parameters()}], lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(5):
        opt.step()
        sched.step()
    ex17.check_3([g["lr"] for g in opt.param_groups])
    assert "✅ Exercise 17.3 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [([1e-4 / 32, 1e-3 / 32], "five times"), ([1e-4 / 8, 1e-3 / 8], "halved twice"), ([1e-4, 1e-3], "starting"),
     ([2.5e-5, 2.5e-5], "default 1e-3"), ([2.5e-4, 2.5e-4], "only"), ([2.5e-4, 2.5e-5], "order"),
     ([1.0, 2.0], "gamma every step_size"), ([1e-3], "two learning rates"), ("fast", "list of two floats")],
)
def test_3_mistakes(answer, hint, capsys):
    ex17.check_3(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


# --- 17.4: the batch counter and what is left of the pretrained running mean after 20 train-mode batches


def test_4_right_and_agrees_with_the_model(capsys):
    model = tr.SmallCNN(5)
    tr.freeze(model.backbone)
    bn = model.backbone[1]
    bn.running_mean.fill_(1.0)
    model.train()
    with torch.no_grad():
        for _ in range(20):
            model(torch.zeros(8, 1, 12, 12))  # conv output = its bias: batch mean = bias, exactly
    bias = model.backbone[0].bias.detach()
    kept = ((bn.running_mean - bias) / (1 - bias))[0].item()
    ex17.check_4((int(bn.num_batches_tracked), kept))
    assert "✅ Exercise 17.4 passed" in _out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [((60, 0.9**20), "own counter"), ((1, 0.9**20), "once"), ((7, 0.9**20), "forward passes"),
     ((20, 1 - 0.9**20), "20 new batches"), ((20, 0.1**20), "not m = 0.1"), ((20, 0.9**19), "twenty times"),
     ((20, -0.5), "negative"), ((20, 0.5), "(1 − m)²⁰"), ((20, 1 - 0.1 * 20), "negative"), (42, "expected a tuple")],
)
def test_4_mistakes(answer, hint, capsys):
    ex17.check_4(answer)
    out = _out(capsys)
    assert "not right yet" in out and hint in out


@pytest.mark.parametrize("check", [ex17.check_1, ex17.check_2, ex17.check_3, ex17.check_4])
def test_placeholders_are_not_done(check, capsys):
    check(...)
    assert "not done yet" in _out(capsys)
