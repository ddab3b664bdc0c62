"""Exercise checks of notebook 04: right answers pass, typical mistakes get a hint that names them,
placeholders are "not done yet"."""

import pytest
import torch
from torch import nn

from course_utils.exercises import ex04


def out(capsys) -> str:
    return capsys.readouterr().out


def not_implemented(*args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 04.1 gradients

RIGHT_GRADIENTS = {"MSE at 3": 6.0, "MAE at 3": 1.0, "Huber at 3": 1.0,
                   "MSE at 0.5": 1.0, "MAE at 0.5": 1.0, "Huber at 0.5": 0.5}


def test_gradients_right_answer_passes(capsys):
    ex04.check_1(dict(RIGHT_GRADIENTS))
    assert "✅ Exercise 04.1 passed" in out(capsys)


def test_gradients_match_autograd():
    assert ex04.regression_gradients() == pytest.approx(RIGHT_GRADIENTS)


@pytest.mark.parametrize(
    ("key", "wrong", "words"),
    [("MSE at 3", 3.0, "forget the 2"), ("MSE at 3", 9.0, "not its gradient"), ("MAE at 0.5", 0.5, "±1"),
     ("Huber at 3", 3.0, "capped at δ"), ("Huber at 0.5", 1.0, "½e²"), ("MAE at 3", -1.0, "mind the sign"),
     ("MSE at 0.5", 7.0, "2e for MSE"), ("Huber at 3", "one", "plain number")],
)
def test_gradients_mistakes_are_named(capsys, key, wrong, words):
    ex04.check_1(dict(RIGHT_GRADIENTS, **{key: wrong}))
    text = out(capsys)
    assert "❌ Exercise 04.1 is not right yet" in text and words in text


def test_gradients_wrong_container_and_missing_key(capsys):
    ex04.check_1([6.0, 1.0])
    assert "expected a dict" in out(capsys)
    ex04.check_1({"MSE at 3": 6.0})
    assert "is missing" in out(capsys)


@pytest.mark.parametrize("placeholder", [..., None, dict(RIGHT_GRADIENTS, **{"MAE at 3": ...})])
def test_gradients_placeholder_is_not_done(capsys, placeholder):
    ex04.check_1(placeholder)
    assert "⏳ Exercise 04.1 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.2 the uniform baseline

@pytest.mark.parametrize("answer", [2.302585, torch.tensor(2.3026)])
def test_uniform_loss_right_answer_passes(capsys, answer):
    ex04.check_2(answer)
    assert "✅ Exercise 04.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [(0.1, "-log of that probability"), (1.0, "natural logarithm"), (-2.302585, "cannot be negative"),
     (0.0, "same probability"), (0.6931, "two-class"), (5.0, "-ln(1/10)"), ("ln 10", "one float")],
)
def test_uniform_loss_mistakes_are_named(capsys, wrong, words):
    ex04.check_2(wrong)
    text = out(capsys)
    assert "❌ Exercise 04.2 is not right yet" in text and words in text


def test_uniform_loss_placeholder_is_not_done(capsys):
    ex04.check_2(...)
    assert "⏳ Exercise 04.2 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 04.3 the gradient of cross-entropy

@pytest.mark.parametrize("answer", [[1 / 3, -2 / 3, 1 / 3], torch.tensor([[0.3333, -0.6667, 0.3333]])])
def test_grad_logits_right_answer_passes(capsys, answer):
    ex04.check_3(answer)
    assert "✅ Exercise 04.3 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [([-1 / 3, 2 / 3, -1 / 3], "signs are flipped"), ([0, -1, 0], "softmax probabilities"),
     ([1 / 3, 1 / 3, 1 / 3], "subtract the one-hot"), ([1 / 9, -2 / 9, 1 / 9], "nothing to average"),
     ([1, 2], "three numbers"), ("abc", "a list"), ([0.5, -0.5, 0.0], "softmax(z) - onehot(y)")],
)
def test_grad_logits_mistakes_are_named(capsys, wrong, words):
    ex04.check_3(wrong)
    text = out(capsys)
    assert "❌ Exercise 04.3 is not right yet" in text and words in text


def test_grad_logits_placeholder_is_not_done(capsys):
    ex04.check_3(...)
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
