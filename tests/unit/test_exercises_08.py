"""The checks of notebook 08: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import ex08
from course_utils.topics import cnn


def run(capsys, check, answer) -> str:
    check(answer)
    return capsys.readouterr().out


# --------------------------------------------------------------------------- 08.1


@pytest.mark.parametrize("answer", [29, 29.0, torch.tensor(29)])
def test_rf_right(capsys, answer):
    out = run(capsys, ex08.check_1, answer)
    assert "✅ Exercise 08.1 passed" in out and "5, 17, 21, 29" in out


def test_rf_matches_the_measurement():
    stack = nn.Sequential(nn.Conv2d(1, 1, 5, stride=2), nn.Conv2d(1, 1, 3, dilation=3), nn.MaxPool2d(3, stride=2),
                          nn.Conv2d(1, 1, 3))
    assert cnn.measured_receptive_field(stack, 96) == 29 == cnn.receptive_field(stack)[-1][1]


def test_rf_is_not_a_stack_the_notebook_prints():
    # the notebook measures conv3, conv3 s2, conv3 d2, pool2, conv5 (31 pixels): the exercise must differ
    assert ex08._rf(ex08._RF_LAYERS) != 31


@pytest.mark.parametrize("answer,words", [
    (15, "jump"), (21, "dilation"), (37, "for the layers *after* it"), (14, "adding the kernel sizes"), (20, "r ← r"),
])
def test_rf_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex08.check_1, answer)
    assert "not right yet" in out and words in out


def test_rf_placeholder(capsys):
    assert "not done yet" in run(capsys, ex08.check_1, ...)


# --------------------------------------------------------------------------- 08.2


def test_ratio_right(capsys):
    assert "✅ Exercise 08.2 passed" in run(capsys, ex08.check_2, lambda c_in, c_out, k: 1 / c_out + 1 / k**2)


def test_ratio_matches_counted_multiply_adds():
    for c_in, c_out, k in [(32, 64, 3), (16, 16, 7)]:
        separable = nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in), nn.Conv2d(c_in, c_out, 1))
        full = nn.Conv2d(c_in, c_out, k, padding=k // 2)
        ratio = cnn.multiply_adds(separable, (c_in, 9, 9)) / cnn.multiply_adds(full, (c_in, 9, 9))
        assert ratio == pytest.approx(ex08._ratio(c_in, c_out, k), rel=1e-12)


@pytest.mark.parametrize("wrong,words", [
    (lambda ci, co, k: 1 / (1 / co + 1 / k**2), "below 1"),
    (lambda ci, co, k: ((k * k + 1) * ci + (ci + 1) * co) / ((k * k * ci + 1) * co), "biases"),
    (lambda ci, co, k: 1 / k**2, "1×1 layer's share"),
    (lambda ci, co, k: 1 / co, "depthwise layer's share"),
    (lambda ci, co, k: 1 / ci + 1 / k**2, "swapped"),
    (lambda ci, co, k: ci / co + 1 / k**2, "ONE input channel"),
    (lambda ci, co, k: 0.5, "cancels"),
])
def test_ratio_mistakes_are_named(capsys, wrong, words):
    out = run(capsys, ex08.check_2, wrong)
    assert "not right yet" in out and words in out


def test_ratio_not_done(capsys):
    def stub(c_in, c_out, k):
        raise NotImplementedError

    assert "not done yet" in run(capsys, ex08.check_2, stub)
    assert "not done yet" in run(capsys, ex08.check_2, ...)
    assert "expected a function" in run(capsys, ex08.check_2, 0.12)


# --------------------------------------------------------------------------- 08.3


def test_stem_right(capsys):
    stem = nn.Conv2d(3, 64, 7, stride=2, padding=3)
    out = run(capsys, ex08.check_3, cnn.multiply_adds(stem, (3, 224, 224)))
    assert "✅ Exercise 08.3 passed" in out and "118,013,952" in out


@pytest.mark.parametrize("answer,words", [
    (472_055_808, "stride 2"), (111_776_448, "padding=3"), (39_337_984, "all 3 colour channels"),
    (118_816_768, "bias additions"), (1_843_968, "64 output channels"), (9408, "number of weights"),
    (9472, "number of parameters"), (1, "output size"),
])
def test_stem_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex08.check_3, answer)
    assert "not right yet" in out and words in out


def test_stem_placeholder(capsys):
    assert "not done yet" in run(capsys, ex08.check_3, ...)


# --------------------------------------------------------------------------- 08.4


def _reshape_pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def test_pool_right(capsys):
    assert "✅ Exercise 08.4 passed" in run(capsys, ex08.check_4, _reshape_pool)


@pytest.mark.parametrize("library", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: torch.max_pool2d(x, 2),
    lambda x: nn.MaxPool2d(2)(x),
    lambda x: nn.AdaptiveMaxPool2d((x.shape[2] // 2, x.shape[3] // 2))(x),
    lambda x: x.unfold(2, 2, 2).unfold(3, 2, 2).amax(dim=(4, 5)),
    lambda x: F.unfold(x, 2, stride=2).view(x.shape[0], x.shape[1], 4, x.shape[2] // 2, x.shape[3] // 2).amax(2),
])
def test_pool_library_calls_are_caught(capsys, library):
    out = run(capsys, ex08.check_4, library)
    assert "not right yet" in out and "F.max_pool2d" in out


def test_pool_guard_restores_the_library():
    x = torch.randn(1, 2, 4, 4)
    before = F.max_pool2d(x, 2)
    ex08.check_4(lambda t: F.max_pool2d(t, 2))
    assert torch.equal(F.max_pool2d(x, 2), before) and torch.equal(nn.MaxPool2d(2)(x), before)
    assert x.unfold(2, 2, 2).shape == (1, 2, 2, 4, 2) and F.unfold(x, 2).shape == (1, 8, 9)
    assert "unfold" not in vars(torch.Tensor)  # inherited again, not shadowed


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
