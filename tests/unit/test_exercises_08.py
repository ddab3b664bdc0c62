"""The checks of notebook 08: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex08


def run(capsys, check, answer) -> str:
    check(answer)
    return capsys.readouterr().out


# --------------------------------------------------------------------------- 08.1


@pytest.mark.parametrize("answer", [31, 31.0, torch.tensor(31)])
def test_rf_right(capsys, answer):
    assert "✅ Exercise 08.1 passed" in run(capsys, ex08.check_1, answer)


def test_rf_matches_the_measurement():
    from torch import nn

    from course_utils.topics import cnn
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, dilation=2),
                          nn.MaxPool2d(2), nn.Conv2d(1, 1, 5))
    assert cnn.measured_receptive_field(stack, 96) == 31 == cnn.receptive_field(stack)[-1][1]


@pytest.mark.parametrize("answer,words", [
    (14, "jump"), (27, "dilation"), (35, "for the layers *after* it"), (16, "adding the kernel sizes"), (20, "r ← r"),
])
def test_rf_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex08.check_1, answer)
    assert "not right yet" in out and words in out


def test_rf_placeholder(capsys):
    assert "not done yet" in run(capsys, ex08.check_1, ...)


# --------------------------------------------------------------------------- 08.2


def test_params_right(capsys):
    assert "✅ Exercise 08.2 passed" in run(capsys, ex08.check_2, lambda c_in, c_out, k: (k * k * c_in + 1) * c_out)


@pytest.mark.parametrize("wrong,words", [
    (lambda ci, co, k: k * k * ci * co, "forgot the bias"),
    (lambda ci, co, k: k * k * ci * co + 1, "one bias per output channel"),
    (lambda ci, co, k: (k * k + 1) * co, "ALL input channels"),
    (lambda ci, co, k: (k * ci + 1) * co, "k·k weights"),
    (lambda ci, co, k: (k * k * co + 1) * ci, "swapped"),
    (lambda ci, co, k: 0, "nn.Conv2d"),
])
def test_params_mistakes_are_named(capsys, wrong, words):
    out = run(capsys, ex08.check_2, wrong)
    assert "not right yet" in out and words in out


def test_params_not_done(capsys):
    def stub(c_in, c_out, k):
        raise NotImplementedError

    assert "not done yet" in run(capsys, ex08.check_2, stub)
    assert "not done yet" in run(capsys, ex08.check_2, ...)


# --------------------------------------------------------------------------- 08.3


def test_separable_right(capsys):
    from torch import nn
    block = nn.Sequential(nn.Conv2d(48, 48, 5, groups=48), nn.Conv2d(48, 96, 1))
    assert "✅ Exercise 08.3 passed" in run(capsys, ex08.check_3, sum(p.numel() for p in block.parameters()))


@pytest.mark.parametrize("answer,words", [
    (62352, "ONE input channel"), (5808, "biases"), (115296, "full 5×5"), (116544, "1×1"), (7200, "C_in = 48"),
    (1, "depthwise: (k·k + 1)"),
])
def test_separable_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex08.check_3, answer)
    assert "not right yet" in out and words in out


def test_separable_placeholder(capsys):
    assert "not done yet" in run(capsys, ex08.check_3, ...)


# --------------------------------------------------------------------------- 08.4


def test_pool_right(capsys):
    def pool(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))

    assert "✅ Exercise 08.4 passed" in run(capsys, ex08.check_4, pool)


def test_pool_mean_is_named(capsys):
    def pool(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))

    out = run(capsys, ex08.check_4, pool)
    assert "not right yet" in out and "average pooling" in out


def test_pool_wrong_reshape_is_named(capsys):
    def pool(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, w // 2, 2, 2).amax(dim=(4, 5))

    out = run(capsys, ex08.check_4, pool)
    assert "not right yet" in out and "mixes pixels" in out


def test_pool_wrong_shape_gets_a_shape_hint(capsys):
    out = run(capsys, ex08.check_4, lambda x: x.amax(dim=3))
    assert "not right yet" in out and "shape" in out


def test_pool_not_done(capsys):
    def stub(x):
        raise NotImplementedError

    assert "not done yet" in run(capsys, ex08.check_4, stub)
    assert "not done yet" in run(capsys, ex08.check_4, ...)
