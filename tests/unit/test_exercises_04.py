"""Exercise checks of notebook 04: right answers pass, typical mistakes get a hint that names them,
placeholders are "not done yet"."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import ex04


def out(capsys) -> str:
    return capsys.readouterr().out


def not_implemented(*args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 04.1 Huber


def huber(p, t, d):
    e = (p - t).abs()
    return torch.where(e <= d, 0.5 * e**2, d * (e - 0.5 * d)).mean()


def test_huber_right_answer_passes(capsys):
    ex04.check_1(huber)
    assert "✅ Exercise 04.1 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda p, t, d: F.smooth_l1_loss(p, t, beta=d), "SmoothL1Loss"),
        (lambda p, t, d: (0.5 * (p - t) ** 2).mean(), "grow linearly"),
        (lambda p, t, d: torch.where((p - t).abs() <= d, d * ((p - t).abs() - 0.5 * d), 0.5 * (p - t) ** 2).mean(),
         "swapped"),
        (lambda p, t, d: torch.where((p - t).abs() <= d, (p - t) ** 2, d * ((p - t).abs() - 0.5 * d)).mean(),
         "½·e², not e²"),
        (lambda p, t, d: torch.where((p - t).abs() <= d, 0.5 * (p - t) ** 2, d * (p - t).abs()).mean(), "−½δ"),
        (lambda p, t, d: F.huber_loss(p, t, delta=d, reduction="sum"), ".mean(), not .sum()"),
        (lambda p, t, d: F.huber_loss(p, t, delta=1.0), "δ is fixed at 1"),
        (lambda p, t, d: F.huber_loss(p, t, delta=d, reduction="none"), "one number"),
        (lambda p, t, d: 0.5, "not a tensor"),
        (lambda p, t, d: p.undefined_method(), "raised AttributeError"),
    ],
)
def test_huber_mistakes_are_named(capsys, wrong, words):
    ex04.check_1(wrong)
    text = out(capsys)
    assert "❌ Exercise 04.1 is not right yet" in text and words in text


@pytest.mark.parametrize("placeholder", [..., not_implemented])
def test_huber_placeholder_is_not_done(capsys, placeholder):
    ex04.check_1(placeholder)
    assert "⏳ Exercise 04.1 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.2 targets


def test_targets_right_answer_passes(capsys):
    ex04.check_2(ex04.exercise_2_rows().argmax(dim=1))
    assert "✅ Exercise 04.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda rows: rows, "still one-hot rows"),
        (lambda rows: rows.argmax(dim=0), "dim=0 runs down the columns"),
        (lambda rows: rows.argmax(dim=1, keepdim=True), ".squeeze(1)"),
        (lambda rows: rows.argmax(dim=1).float(), ".long()"),
        (lambda rows: rows.argmax(dim=1) + 1, "count from 0"),
        (lambda rows: rows.argmax(dim=1).tolist(), "torch.tensor"),
        (lambda rows: rows.argmax(dim=1).flip(0), "argmax over dim=1"),
    ],
)
def test_targets_mistakes_are_named(capsys, wrong, words):
    ex04.check_2(wrong(ex04.exercise_2_rows()))
    text = out(capsys)
    assert "❌ Exercise 04.2 is not right yet" in text and words in text


def test_targets_placeholder_is_not_done(capsys):
    ex04.check_2(...)
    assert "⏳ Exercise 04.2 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.3 cross-entropy


def cross_entropy(z, t):
    shifted = z - z.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[torch.arange(len(t)), t].mean()


def rows(t):
    return torch.arange(len(t))


def test_cross_entropy_right_answer_passes(capsys):
    ex04.check_3(cross_entropy)
    assert "✅ Exercise 04.3 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda z, t: -(z.softmax(dim=1)[rows(t), t].log()).mean(), "subtract each row's max"),
        (lambda z, t: -(z - z.exp().sum(1, keepdim=True).log())[rows(t), t].mean(), "subtract each row's max"),
        (lambda z, t: -F.log_softmax(z, dim=0)[rows(t), t].mean(), "dim=1 (each row)"),
        (lambda z, t: F.log_softmax(z, dim=1)[rows(t), t].mean(), "MINUS"),
        (lambda z, t: -F.log_softmax(z, dim=1)[rows(t), t].sum(), ".mean(), not .sum()"),
        (lambda z, t: F.cross_entropy(z.softmax(dim=1), t), "applying softmax first"),
        (lambda z, t: -z.softmax(dim=1)[rows(t), t].mean(), "take the log"),
        (lambda z, t: -F.log_softmax(z, dim=1)[:, t].mean(), "one entry per row"),
        (lambda z, t: -z[rows(t), t].mean(), "raw logit"),
    ],
)
def test_cross_entropy_mistakes_are_named(capsys, wrong, words):
    ex04.check_3(wrong)
    text = out(capsys)
    assert "❌ Exercise 04.3 is not right yet" in text and words in text


@pytest.mark.parametrize("placeholder", [..., not_implemented])
def test_cross_entropy_placeholder_is_not_done(capsys, placeholder):
    ex04.check_3(placeholder)
    assert "⏳ Exercise 04.3 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.4 which loss

RIGHT = dict(zip(ex04.TASKS, [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.BCEWithLogitsLoss,
                              nn.CrossEntropyLoss, nn.KLDivLoss], strict=True))


@pytest.mark.parametrize("answer", [RIGHT, {**RIGHT, ex04.TASKS[0]: nn.HuberLoss(delta=2.0)},
                                    {**RIGHT, ex04.TASKS[5]: nn.CrossEntropyLoss}])
def test_loss_choice_right_answers_pass(capsys, answer):
    ex04.check_4(answer)
    assert "✅ Exercise 04.4 passed" in out(capsys)


@pytest.mark.parametrize(
    ("task", "choice", "words"),
    [
        (0, nn.CrossEntropyLoss, "not a class"),
        (1, nn.BCELoss, "BCEWithLogitsLoss"),
        (1, nn.CrossEntropyLoss, "one logit per class"),
        (2, nn.NLLLoss, "log-probabilities"),
        (2, nn.MSELoss, "not numbers on a line"),
        (2, nn.BCEWithLogitsLoss, "exclude each other"),
        (3, nn.CrossEntropyLoss, "several tags can be true"),
        (3, nn.BCELoss(), "sigmoid first"),
        (3, "BCEWithLogitsLoss", "loss class from torch.nn"),
        (4, nn.BCEWithLogitsLoss, "(B, C, H, W) logits with (B, H, W)"),
        (4, nn.L1Loss, "what the target is"),
        (5, nn.MSELoss, "target is a distribution"),
        (5, nn.NLLLoss, "takes class indices"),
    ],
)
def test_loss_choice_mistakes_are_named(capsys, task, choice, words):
    ex04.check_4({**RIGHT, ex04.TASKS[task]: choice})
    text = out(capsys)
    assert "❌ Exercise 04.4 is not right yet" in text and words in text


def test_loss_choice_wrong_container_and_missing_task(capsys):
    ex04.check_4([nn.MSELoss])
    assert "expected a dict" in out(capsys)
    ex04.check_4({k: v for k, v in RIGHT.items() if k != ex04.TASKS[2]})
    assert "is missing" in out(capsys)


@pytest.mark.parametrize("placeholder", [..., {**RIGHT, ex04.TASKS[1]: ...}])
def test_loss_choice_placeholder_is_not_done(capsys, placeholder):
    ex04.check_4(placeholder)
    assert "⏳ Exercise 04.4 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.5


@pytest.mark.parametrize("answer", [19, 19.0, 950 / 50, torch.tensor(19.0)])
def test_5_right_answers_pass(capsys, answer):
    ex04.check_5(answer)
    assert "✅ Exercise 04.5 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(50 / 950, "must be large when positives are rare"), (0.05, "fraction of positives"),
     (0.95, "fraction of negatives"), (20, "outweigh the negatives"), (1, "nothing changes"),
     (10, "pos_weight · (number of positives)"), ("19", "expected a number")],
)
def test_5_typical_mistakes_get_named(capsys, answer, hint):
    ex04.check_5(answer)
    text = capsys.readouterr().out
    assert "❌ Exercise 04.5 is not right yet" in text and hint in text


def test_5_placeholder_is_not_done(capsys):
    ex04.check_5(...)
    assert "⏳ Exercise 04.5 is not done yet" in capsys.readouterr().out
