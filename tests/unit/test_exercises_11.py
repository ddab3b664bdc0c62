"""Checks of notebook 11: right answers pass, typical mistakes get a hint that names them, placeholders are 'not done'."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.exercises import ex11

bce = F.binary_cross_entropy_with_logits


def right_d(real, fake):
    return bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))


def not_written(*args):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda r, f: bce(r, torch.zeros_like(r)) + bce(f, torch.ones_like(f)), "labels are swapped"),
        (lambda r, f: right_d(r, f) / 2, "averaged the two terms"),
        (lambda r, f: right_d(torch.sigmoid(r), torch.sigmoid(f)), "raw logits"),
        (lambda r, f: bce(r, torch.ones_like(r)), "only the real term"),
        (lambda r, f: r.mean(), "binary_cross_entropy_with_logits"),
    ],
)
def test_11_1_mistakes(capsys, answer, hint):
    ex11.check_1(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_1_right_and_not_done(capsys):
    ex11.check_1(right_d)
    assert "✅ Exercise 11.1 passed" in capsys.readouterr().out
    ex11.check_1(not_written)
    assert "not done yet" in capsys.readouterr().out
    ex11.check_1(...)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda f: torch.log1p(-torch.sigmoid(f)).mean(), "saturating"),
        (lambda f: bce(f, torch.zeros_like(f)), "target is 1"),
        (lambda f: bce(torch.sigmoid(f), torch.ones_like(f)), "raw logits"),
    ],
)
def test_11_2_mistakes(capsys, answer, hint):
    ex11.check_2(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_2_right_and_not_done(capsys):
    ex11.check_2(lambda f: -F.logsigmoid(f).mean())
    assert "✅ Exercise 11.2 passed" in capsys.readouterr().out
    ex11.check_2(not_written)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(0.5, "*output*"), (math.log(2), "one term"), (1.0, "add the two terms")],
)
def test_11_3_mistakes(capsys, answer, hint):
    ex11.check_3(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_3_right_and_not_done(capsys):
    ex11.check_3(2 * math.log(2))
    assert "✅ Exercise 11.3 passed" in capsys.readouterr().out
    ex11.check_3(torch.tensor(1.3863))
    assert "passed" in capsys.readouterr().out
    ex11.check_3(...)
    assert "not done yet" in capsys.readouterr().out


def right_interpolate(z0, z1, n):
    w = torch.linspace(0, 1, n)[:, None]
    return (1 - w) * z0 + w * z1


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda z0, z1, n: right_interpolate(z0, z1, n + 1)[:-1], "off by one"),
        (lambda z0, z1, n: right_interpolate(z1, z0, n), "order is reversed"),
        (lambda z0, z1, n: right_interpolate(z0, z1, n).T, "transpose"),
    ],
)
def test_11_4_mistakes(capsys, answer, hint):
    ex11.check_4(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_11_4_right_and_not_done(capsys):
    ex11.check_4(right_interpolate)
    assert "✅ Exercise 11.4 passed" in capsys.readouterr().out
    ex11.check_4(not_written)
    assert "not done yet" in capsys.readouterr().out
