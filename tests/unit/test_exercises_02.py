import pytest
import torch
from torch import nn

from course_utils.exercises import ex02


def out(capsys) -> str:
    return capsys.readouterr().out


@pytest.fixture
def layer_and_x():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 2.0]]))
        layer.bias.copy_(torch.tensor([0.0, 1.0]))
    return layer, torch.tensor([[2.0, 1.0]])


# --------------------------------------------------------------------------- 02.1

@pytest.mark.parametrize("answer", [[1.0, 4.0], (1, 4), torch.tensor([[1.0, 4.0]]), torch.tensor([1.0, 4.0])])
def test_1_right_answer_passes(capsys, layer_and_x, answer):
    ex02.check_1(answer, *layer_and_x)
    assert "✅ Exercise 02.1 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        ([2.5, 1.0], "one ROW per output neuron"),
        ([1.0, 3.0], "its own bias"),
        ([1.0, 2.0], "add the bias"),
        ([1.0, 4.0, 0.0], "one per output neuron"),
        ([2.0, 5.0], "write out both sums"),
        ("one and four", "as a list"),
    ],
)
def test_1_typical_mistakes_get_named(capsys, layer_and_x, wrong, hint):
    ex02.check_1(wrong, *layer_and_x)
    text = out(capsys)
    assert "❌ Exercise 02.1 is not right yet" in text and hint in text


def test_1_placeholder_is_not_done_and_bad_data_is_refused(capsys, layer_and_x):
    ex02.check_1(..., *layer_and_x)
    assert "⏳ Exercise 02.1 is not done yet" in out(capsys)
    ex02.check_1([..., ...], *layer_and_x)
    assert "⏳ Exercise 02.1 is not done yet" in out(capsys)
    with pytest.raises(ValueError, match="hand_layer"):
        ex02.check_1([1.0, 4.0], layer_and_x[0], torch.zeros(3, 2))


# --------------------------------------------------------------------------- 02.2

MYSTERY = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
MYSTERY_KEYS = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def test_2_right_answer_passes(capsys):
    ex02.check_2(6, list(MYSTERY_KEYS), MYSTERY)
    assert "✅ Exercise 02.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("n_tensors", "keys", "hint"),
    [
        (5, MYSTERY_KEYS, "ReLU has no parameters"),
        (3, MYSTERY_KEYS, "two parameter tensors"),
        (7, MYSTERY_KEYS, "nothing for ReLU"),
        (6, ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"], "Linear layers are 0, 2 and 4"),
        (6, ["0.weight", "2.weight", "4.weight"], "also has a bias"),
        (6, sorted(MYSTERY_KEYS), "another order"),
        (6, "0.weight", "list of strings"),
        ("six", MYSTERY_KEYS, "whole number"),
    ],
)
def test_2_typical_mistakes_get_named(capsys, n_tensors, keys, hint):
    ex02.check_2(n_tensors, keys, MYSTERY)
    text = out(capsys)
    assert "❌ Exercise 02.2 is not right yet" in text and hint in text


def test_2_placeholder_is_not_done_and_bad_data_is_refused(capsys):
    ex02.check_2(..., ..., MYSTERY)
    assert "⏳ Exercise 02.2 is not done yet" in out(capsys)
    with pytest.raises(ValueError, match="mystery"):
        ex02.check_2(6, MYSTERY_KEYS, nn.Linear(2, 2))


# --------------------------------------------------------------------------- 02.3

def right_count(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def test_3_right_answer_passes(capsys):
    ex02.check_3(right_count)
    assert "✅ Exercise 02.3 passed" in out(capsys)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda s: sum(a * b for a, b in zip(s, s[1:], strict=False)), "add out_features per layer"),
        (lambda s: sum(a * b + a for a, b in zip(s, s[1:], strict=False)), "one bias per OUTPUT neuron"),
        (lambda s: s[0] * s[1] + s[1], "every consecutive pair"),
        (lambda s: sum((a + 1) * (b + 1) for a, b in zip(s, s[1:], strict=False)), "out·(in + 1)"),
        (lambda s: sum(a * b + b for a, b in zip(s[1:], s[2:], strict=False)), "skipped the first layer"),
        (lambda s: sum(s), "in_features * out_features weights"),
        (lambda s: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_3_typical_mistakes_get_named(capsys, fn, hint):
    ex02.check_3(fn)
    text = out(capsys)
    assert "❌ Exercise 02.3 is not right yet" in text and hint in text


def test_3_placeholder_and_unwritten_function_are_not_done(capsys):
    ex02.check_3(...)
    assert "⏳ Exercise 02.3 is not done yet" in out(capsys)

    def count_parameters(sizes):
        raise NotImplementedError

    ex02.check_3(count_parameters)
    assert "⏳ Exercise 02.3 is not done yet" in out(capsys)


def test_parameter_count_reference():
    assert ex02.parameter_count([8, 4, 2]) == 46
    assert ex02.parameter_count([784, 1024, 1024, 10]) == sum(
        p.numel() for p in nn.Sequential(nn.Linear(784, 1024), nn.Linear(1024, 1024), nn.Linear(1024, 10)).parameters()
    )


# --------------------------------------------------------------------------- 02.4

def test_loan_decisions_any_two_with_the_original_bias():
    assert ex02.loan_decisions(-1.2) == [(0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1)]


@pytest.mark.parametrize("bias", [-2.0, -1.8, -2.2, torch.tensor(-2.0)])
def test_4_right_answers_pass(capsys, bias):
    ex02.check_4(bias)
    assert "✅ Exercise 02.4 passed" in out(capsys)


@pytest.mark.parametrize(
    ("bias", "hint"),
    [(-1.2, "more negative than -1.7"), (-1.5, "more negative than -1.7"), (-3.0, "above -2.3"),
     ("-2", "a number")],
)
def test_4_typical_mistakes_get_named(capsys, bias, hint):
    ex02.check_4(bias)
    text = out(capsys)
    assert "❌ Exercise 02.4 is not right yet" in text and hint in text


@pytest.mark.parametrize("bias", [-1.7, -2.3])
def test_4_boundary_values_are_explained(capsys, bias):
    ex02.check_4(bias)
    text = out(capsys)
    assert "❌" in text and ("boundary" in text or "more negative than -1.7" in text or "above -2.3" in text)


def test_4_placeholder_is_not_done(capsys):
    ex02.check_4(...)
    assert "⏳ Exercise 02.4 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 02.5

@pytest.mark.parametrize(
    "model",
    [nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)),
     nn.Sequential(nn.Flatten(), nn.Linear(64, 23), nn.ReLU(), nn.Linear(23, 10))],
)
def test_5_fixes_pass(capsys, model):
    ex02.check_5(model)
    assert "✅ Exercise 02.5 passed" in out(capsys)


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        (nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(23, 10)), "nn.Flatten() first"),
        (nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), "nn.Flatten() first"),
        (nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(23, 10)), "32 -> 32"),
        (nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1)), "10 outputs"),
        ("Sequential(...)", "corrected nn.Sequential"),
    ],
)
def test_5_typical_mistakes_get_named(capsys, model, hint):
    ex02.check_5(model)
    text = out(capsys)
    assert "❌ Exercise 02.5 is not right yet" in text and hint in text


def test_5_placeholder_is_not_done(capsys):
    ex02.check_5(...)
    assert "⏳ Exercise 02.5 is not done yet" in out(capsys)


def test_first_size_mismatch():
    buggy = nn.Sequential(nn.Linear(92, 4), nn.Linear(4, 69), nn.Linear(269, 1))
    assert ex02.first_size_mismatch(buggy) == "Linear layer 1 gives 69 features, but Linear layer 2 expects in_features=269"
    assert ex02.first_size_mismatch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))) is None
