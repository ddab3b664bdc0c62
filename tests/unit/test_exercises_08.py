"""The checks of notebook 08: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

import pytest
import torch

from course_utils.exercises import ex08


def run(capsys, check, answer) -> str:
    check(answer)
    return capsys.readouterr().out


# --------------------------------------------------------------------------- 08.1


@pytest.mark.parametrize("answer", [(64, 6, 6), [64, 6, 6], torch.Size([64, 6, 6])])
def test_shape_right(capsys, answer):
    assert "✅ Exercise 08.1 passed" in run(capsys, ex08.check_1, answer)


@pytest.mark.parametrize("answer,words", [
    ((64, 5, 5), "28×28"),
    ((64, 7, 7), "rounds down"),
    ((64, 8, 8), "no padding"),
    ((6, 6, 64), "(channels, height, width)"),
    ((1, 64, 6, 6), "batch dimension"),
    ((32, 6, 6), "64 output channels"),
    ((64, 4, 4), "layer by layer"),
])
def test_shape_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex08.check_1, answer)
    assert "not right yet" in out and words in out


def test_shape_placeholder(capsys):
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


@pytest.mark.parametrize("kernel", [
    torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
    [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],  # the other direction, as a list of ints
])
def test_edge_kernel_right(capsys, kernel):
    assert "✅ Exercise 08.3 passed" in run(capsys, ex08.check_3, kernel)


@pytest.mark.parametrize("kernel,words", [
    (torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]), "transpose"),
    (torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]), "sum to 0"),
    (torch.tensor([[-1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), "every column"),
    (torch.zeros(3, 3), "barely responds"),
    (torch.ones(2, 2), "3×3"),
    ("sobel", "3×3"),
])
def test_edge_kernel_mistakes_are_named(capsys, kernel, words):
    out = run(capsys, ex08.check_3, kernel)
    assert "not right yet" in out and words in out


def test_edge_kernel_placeholder(capsys):
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
