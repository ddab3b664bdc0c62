"""The checks of notebook 16: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

import math

import pytest

from course_utils.exercises import ex16


def run(capsys, check, answer) -> str:
    check(answer)
    return capsys.readouterr().out


# --------------------------------------------------------------------------- 16.1


def test_metrics_right(capsys):
    assert "✅ Exercise 16.1 passed" in run(capsys, ex16.check_1, (80 / 120, 0.8, 2 * (2 / 3) * 0.8 / (2 / 3 + 0.8)))
    assert "✅ Exercise 16.1 passed" in run(capsys, ex16.check_1, [0.6667, 0.8, 0.7273])


@pytest.mark.parametrize("answer,words", [
    ((0.8, 2 / 3, 0.7273), "swapped"),
    ((2 / 3, 0.8, (2 / 3 + 0.8) / 2), "harmonic mean"),
    ((0.94, 0.8, 0.7273), "accuracy"),
    ((0.08, 0.8, 0.7273), "all 1,000"),
    ((0.5, 0.5, 0.5), "four counts"),
    ("0.67", "three numbers"),
])
def test_metrics_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex16.check_1, answer)
    assert "not right yet" in out and words in out


def test_metrics_placeholder(capsys):
    assert "not done yet" in run(capsys, ex16.check_1, ...)


# --------------------------------------------------------------------------- 16.2


def test_threshold_right(capsys):
    assert "✅ Exercise 16.2 passed" in run(capsys, ex16.check_2, 0.1)


@pytest.mark.parametrize("answer,words", [(0.9, "opposite costs"), (0.5, "equal costs"), (1 / 9, "ratio of the costs"),
                                          (0.3, "equal")])
def test_threshold_mistakes_are_named(capsys, answer, words):
    out = run(capsys, ex16.check_2, answer)
    assert "not right yet" in out and words in out


def test_threshold_placeholder(capsys):
    assert "not done yet" in run(capsys, ex16.check_2, ...)


# --------------------------------------------------------------------------- 16.3


def test_ece_right(capsys):
    value = 3 / 8 * abs(2 / 3 - 0.62) + 5 / 8 * abs(3 / 5 - 0.88)
    out = None
    ex16.check_3(value, ("under", "over"))
    assert "✅ Exercise 16.3 passed" in capsys.readouterr().out
    ex16.check_3(value, ["Under-confident", "over-confident"])
    assert "✅ Exercise 16.3 passed" in capsys.readouterr().out
    assert out is None


@pytest.mark.parametrize("verdicts,words", [
    (("over", "under"), "reversed"),
    (("over", "over"), "(0.5, 0.75]"),
    (("under", "under"), "(0.75, 1]"),
    (("yes",), "two words"),
])
def test_ece_verdicts_are_checked(capsys, verdicts, words):
    ex16.check_3(3 / 8 * abs(2 / 3 - 0.62) + 5 / 8 * abs(3 / 5 - 0.88), verdicts)
    out = capsys.readouterr().out
    assert "not right yet" in out and words in out


def test_ece_matches_the_course_function():
    from course_utils.topics import evaluation as ev

    assert ev.expected_calibration_error(ex16.CONFIDENCES, ex16.CORRECT, ex16.N_BINS) == pytest.approx(
        3 / 8 * abs(2 / 3 - 0.62) + 5 / 8 * abs(3 / 5 - 0.88))


@pytest.mark.parametrize("answer,words", [
    ((abs(2 / 3 - 0.62) + abs(0.6 - 0.88)) / 2, "without weighting"),
    (abs(5 / 8 - 0.7825), "cancelled"),
    (sum(abs(c - k) for c, k in zip(ex16.CONFIDENCES, ex16.CORRECT, strict=True)) / 8, "per sample"),
    (0.5, "bins (0.5, 0.75]"),
])
def test_ece_mistakes_are_named(capsys, answer, words):
    ex16.check_3(answer, ("under", "over"))
    out = capsys.readouterr().out
    assert "not right yet" in out and words in out


def test_ece_placeholder(capsys):
    assert "not done yet" in run(capsys, ex16.check_3, ...)
    ex16.check_3(0.2, ...)
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- 16.4


def exact(b, c):
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)


def test_mcnemar_right(capsys):
    ex16.check_4(exact, False)
    assert "✅ Exercise 16.4 passed" in capsys.readouterr().out


@pytest.mark.parametrize("answer,words", [(True, "above 0.05"), ("no", "True or False")])
def test_mcnemar_significance_is_checked(capsys, answer, words):
    ex16.check_4(exact, answer)
    out = capsys.readouterr().out
    assert "not right yet" in out and words in out


@pytest.mark.parametrize("wrong,words", [
    (lambda b, c: exact(b, c) / 2, "one-sided"),
    (lambda b, c: math.erfc(math.sqrt((b - c) ** 2 / (b + c)) / math.sqrt(2)), "chi-square"),
    (lambda b, c: 2 * sum(math.comb(b + c, i) for i in range(min(b, c) + 1)) / 2 ** (b + c), "cap"),
    (lambda b, c: 0.05, "Binomial"),
])
def test_mcnemar_mistakes_are_named(capsys, wrong, words):
    ex16.check_4(wrong, False)
    out = capsys.readouterr().out
    assert "not right yet" in out and words in out


def test_mcnemar_not_done(capsys):
    def stub(b, c):
        raise NotImplementedError

    ex16.check_4(stub, False)
    assert "not done yet" in capsys.readouterr().out
    ex16.check_4(stub, ...)
    assert "not done yet" in capsys.readouterr().out
    assert "not done yet" in run(capsys, ex16.check_4, ...)
