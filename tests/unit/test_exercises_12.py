"""Checks of notebook 12: right answers pass, typical mistakes get a hint that names them, placeholders are 'not done'."""

from __future__ import annotations

import ast
import inspect

import pytest
import torch

from course_utils.exercises import ex12
from course_utils.topics import diffusion


def not_written(*args):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda b: torch.cumsum(1 - b, 0), "running *sum*"),
        (lambda b: torch.cumprod(b, 0), "not the β_s"),
        (lambda b: 1 - torch.cumsum(b, 0), "first-order approximation"),
        (lambda b: torch.cumprod(1 - b, 0).sqrt(), "no square root"),
        (lambda b: torch.cumprod(1 - b, 0)[1:], "shape"),
    ],
)
def test_12_1_mistakes(capsys, answer, hint):
    ex12.check_1(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_12_1_right_and_not_done(capsys):
    ex12.check_1(lambda b: torch.cumprod(1 - b, dim=0))
    assert "✅ Exercise 12.1 passed" in capsys.readouterr().out
    ex12.check_1(not_written)
    assert "not done yet" in capsys.readouterr().out
    ex12.check_1(...)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda x0, ab, e: ab * x0 + (1 - ab) * e, "square roots"),
        (lambda x0, ab, e: (1 - ab).sqrt() * x0 + ab.sqrt() * e, "swapped"),
        (lambda x0, ab, e: ab.sqrt() * x0 + (1 - ab.sqrt()) * e, "not 1 − √ᾱ_t"),
    ],
)
def test_12_2_mistakes(capsys, answer, hint):
    ex12.check_2(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_12_2_right_and_not_done(capsys):
    ex12.check_2(lambda x0, ab, e: ab.sqrt() * x0 + (1 - ab).sqrt() * e)
    assert "✅ Exercise 12.2 passed" in capsys.readouterr().out
    ex12.check_2(not_written)
    assert "not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda xt, e, ab: xt - (1 - ab).sqrt() * e, "did not divide"),
        (lambda xt, e, ab: (xt + (1 - ab).sqrt() * e) / ab.sqrt(), "sign error"),
        (lambda xt, e, ab: (xt - (1 - ab) * e) / ab, "use square roots"),
    ],
)
def test_12_3_mistakes(capsys, answer, hint):
    ex12.check_3(answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and hint in out


def test_12_3_right_and_not_done(capsys):
    ex12.check_3(lambda xt, e, ab: diffusion.predict_x0(xt, e, ab[:, 0]))
    assert "✅ Exercise 12.3 passed" in capsys.readouterr().out
    ex12.check_3(not_written)
    assert "not done yet" in capsys.readouterr().out


def test_12_4(capsys):
    alpha_bar = diffusion.cosine_schedule(100).alpha_bar
    right = int(torch.nonzero(alpha_bar < 0.5)[0])
    ex12.check_4(right)
    assert "✅ Exercise 12.4 passed" in capsys.readouterr().out
    ex12.check_4(right - 1)
    assert "off by one" in capsys.readouterr().out
    ex12.check_4(int(torch.nonzero(alpha_bar.sqrt() < 0.5)[0]))
    assert "√ᾱ_t with 0.5" in capsys.readouterr().out
    ex12.check_4(3)
    out = capsys.readouterr().out
    assert "not right yet" in out and "torch.nonzero" in out
    ex12.check_4(...)
    assert "not done yet" in capsys.readouterr().out


def test_12_checks_do_not_borrow_from_other_exercise_modules():
    tree = ast.parse(inspect.getsource(ex12))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.startswith("course_utils.exercises") for name in imported), imported
