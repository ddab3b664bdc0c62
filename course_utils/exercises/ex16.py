"""Checks for notebook 16 (evaluation, imbalance and tuning)."""

from __future__ import annotations

import math
from typing import Any

from course_utils import checks

# --------------------------------------------------------------------------- 16.1 metrics by hand

# 1,000 digits, 100 of them nines; the model flags 120, and 80 of those are nines.
_TP, _FP, _FN, _TN = 80, 40, 20, 860
_PRECISION = _TP / (_TP + _FP)
_RECALL = _TP / (_TP + _FN)
_F1 = 2 * _PRECISION * _RECALL / (_PRECISION + _RECALL)


def check_1(answer: Any) -> None:
    """Exercise 16.1: (precision, recall, F1) for the screening example."""
    exercise = "16.1"
    if checks.unanswered(exercise, answer):
        return
    try:
        p, r, f = (float(v) for v in answer)
    except Exception:
        return checks.failed(exercise, f"expected three numbers (precision, recall, f1); got {answer!r}.",
                             "write a tuple such as (0.5, 0.5, 0.5).")
    expected = (_PRECISION, _RECALL, _F1)
    if all(math.isclose(a, b, abs_tol=1e-3) for a, b in zip((p, r, f), expected, strict=True)):
        return checks.passed(exercise, f"precision {_PRECISION:.3f}, recall {_RECALL:.3f}, F1 {_F1:.3f}.")
    mistakes = [
        (lambda a: math.isclose(a[0], _RECALL, abs_tol=1e-3) and math.isclose(a[1], _PRECISION, abs_tol=1e-3),
         "precision and recall are swapped.",
         "precision asks 'of the flagged, how many are nines?' (TP / flagged); recall asks 'of the nines, how "
         "many were flagged?' (TP / all nines)."),
        (lambda a: math.isclose(a[2], (_PRECISION + _RECALL) / 2, abs_tol=1e-3),
         "your F1 is the arithmetic mean of precision and recall.",
         "F1 is the harmonic mean, 2·P·R / (P + R): it is pulled towards the smaller of the two."),
        (lambda a: any(math.isclose(v, (_TP + _TN) / 1000, abs_tol=1e-3) for v in a),
         "one of your numbers is the accuracy, (TP + TN) / 1000 = 0.94.",
         "accuracy counts the 860 easy negatives; precision and recall look only at the flagged and the nines."),
        (lambda a: math.isclose(a[0], _TP / 1000, abs_tol=1e-3) or math.isclose(a[1], _TP / 1000, abs_tol=1e-3),
         "you divided by all 1,000 digits.",
         "precision divides by the 120 flagged digits, recall by the 100 nines."),
    ]
    found = checks.first_mistake((p, r, f), mistakes)
    if found is not None:
        return checks.failed(exercise, *found)
    checks.failed(exercise, f"({p:.3f}, {r:.3f}, {f:.3f}) is not right.",
                  "first write the four counts: TP = 80, FP = 120 − 80, FN = 100 − 80, TN = the rest.")


# --------------------------------------------------------------------------- 16.2 cost threshold

_COST_FP, _COST_FN = 1.0, 9.0
_THRESHOLD = _COST_FP / (_COST_FP + _COST_FN)


def check_2(threshold: Any) -> None:
    """Exercise 16.2: the threshold that minimises the expected cost for calibrated probabilities."""
    exercise = "16.2"
    if checks.unanswered(exercise, threshold):
        return
    mistakes = [
        (_COST_FN / (_COST_FP + _COST_FN), "0.9 is the threshold for the opposite costs.",
         "flag a digit when the expected cost of saying 'no', p·9, exceeds that of saying 'yes', (1 − p)·1."),
        (0.5, "0.5 is the threshold for equal costs.",
         "with a miss 9 times as costly as a false alarm, you should flag far more readily."),
        (_COST_FP / _COST_FN, "1/9 ≈ 0.111 is the ratio of the costs, not the threshold.",
         "solve p·9 = (1 − p)·1 for p."),
    ]
    hint = None
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        found = checks.first_mistake(float(threshold), mistakes, atol=2e-3)
        hint = " ".join(found) if found else "flag when p·cost_FN > (1 − p)·cost_FP; the threshold is where both are equal."
    checks.check_value(exercise, threshold, _THRESHOLD, tol=2e-3, hint=hint,
                       success="p* = cost_FP / (cost_FP + cost_FN) = 1 / 10: flag every digit with p ≥ 0.1.")


# --------------------------------------------------------------------------- 16.3 ECE by hand

CONFIDENCES = (0.95, 0.90, 0.90, 0.85, 0.80, 0.70, 0.60, 0.56)
CORRECT = (1, 1, 0, 1, 0, 1, 1, 0)
N_BINS = 4


def _ece_variants() -> dict[str, float]:
    width = 1 / N_BINS
    bins: dict[int, list[int]] = {}
    for i, c in enumerate(CONFIDENCES):
        bins.setdefault(min(N_BINS - 1, math.ceil(c / width) - 1), []).append(i)
    gaps = {k: (sum(CORRECT[i] for i in idx) / len(idx) - sum(CONFIDENCES[i] for i in idx) / len(idx), len(idx))
            for k, idx in bins.items()}
    n = len(CONFIDENCES)
    return {
        "right": sum(abs(g) * m / n for g, m in gaps.values()),
        "unweighted": sum(abs(g) for g, _ in gaps.values()) / len(gaps),
        "no_abs": abs(sum(g * m / n for g, m in gaps.values())),
        "per_sample": sum(abs(c - k) for c, k in zip(CONFIDENCES, CORRECT, strict=True)) / n,
    }


_VERDICTS = ("under", "over")  # bin (0.5, 0.75]: accuracy 2/3 > confidence 0.62; bin (0.75, 1]: 0.6 < 0.88


def check_3(ece: Any, verdicts: Any = None) -> None:
    """Exercise 16.3: the ECE of eight predictions with four equal-width bins, and for each of the two
    used bins, (0.5, 0.75] then (0.75, 1], whether the model is "over"- or "under"-confident there."""
    exercise = "16.3"
    if checks.unanswered(exercise, ece, verdicts):
        return
    v = _ece_variants()
    mistakes = [
        (v["unweighted"], "you averaged the bins' gaps without weighting them.",
         "weight each bin's |accuracy − confidence| by its share of the samples, n_k / n."),
        (v["no_abs"], "the gaps cancelled: this is |overall accuracy − overall confidence|.",
         "take the absolute gap per bin before summing; an over-confident bin and an under-confident one must not "
         "cancel."),
        (v["per_sample"], "this is the mean of |confidence − correct| per sample, not per bin.",
         "first group the samples by bin, then compare each bin's mean confidence with its accuracy."),
    ]
    if not (isinstance(ece, int | float) and not isinstance(ece, bool) and math.isclose(ece, v["right"], abs_tol=2e-3)):
        hint = None
        if isinstance(ece, int | float) and not isinstance(ece, bool):
            found = checks.first_mistake(float(ece), mistakes, atol=2e-3)
            hint = " ".join(found) if found else ("bins (0.5, 0.75] and (0.75, 1] are used: 3 and 5 samples; compare "
                                                  "mean confidence and accuracy in each.")
        return checks.check_value(exercise, ece, v["right"], tol=2e-3, hint=hint, success="")
    try:
        given = tuple(str(x).strip().lower().removesuffix("-confident") for x in verdicts)
    except TypeError:
        given = ()
    if len(given) != 2 or not set(given) <= {"over", "under"}:
        return checks.failed(exercise, f"the ECE is right, but verdicts should be two words, 'over' or 'under'; got "
                                       f"{verdicts!r}.", "write e.g. ('over', 'under'): bin (0.5, 0.75] first.")
    if given == _VERDICTS[::-1]:
        return checks.failed(exercise, "the ECE is right, but both verdicts are reversed.",
                             "over-confident means confidence > accuracy: the model claims more than it delivers.")
    if given != _VERDICTS:
        wrong = "(0.5, 0.75]" if given[0] != _VERDICTS[0] else "(0.75, 1]"
        return checks.failed(exercise, f"the ECE is right, but the verdict for bin {wrong} is not.",
                             "compare that bin's mean confidence with its fraction correct.")
    checks.passed(exercise, f"ECE = 5/8 · |0.6 − 0.88| + 3/8 · |0.667 − 0.62| = {v['right']:.4f}; the top bin is "
                            "over-confident (0.6 right at 0.88 confidence), the other slightly under-confident. "
                            "The ECE alone does not tell you which way a model errs.")


# --------------------------------------------------------------------------- 16.4 McNemar


def _exact(b: int, c: int) -> float:
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n)


_MCNEMAR_CASES = [((12, 3), _exact(12, 3)), ((30, 18), _exact(30, 18)), ((5, 5), 1.0), ((0, 7), _exact(0, 7)),
                  ((2, 0), 0.5)]


def _one_sided(b: int, c: int) -> float:
    return _exact(b, c) / 2


def _chi_square(b: int, c: int) -> float:
    return math.erfc(math.sqrt((b - c) ** 2 / (b + c)) / math.sqrt(2)) if b + c else 1.0


def check_4(mcnemar_p: Any, significant_at_5pct: Any = None) -> None:
    """Exercise 16.4: the exact two-sided McNemar p-value from the discordant counts b and c, and whether
    b = 30, c = 18 is a significant difference at the 5 % level."""
    exercise = "16.4"
    if checks.unanswered(exercise, mcnemar_p, significant_at_5pct):
        return
    right = False
    if callable(mcnemar_p):
        try:
            right = all(checks.close(mcnemar_p(*args), want, atol=1e-9) for args, want in _MCNEMAR_CASES)
        except NotImplementedError:
            return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
        except Exception:
            right = False
    if not right:
        hint = None
        if callable(mcnemar_p):
            hint = checks.match_mistake(mcnemar_p, [
                (_one_sided, "this is the one-sided p-value: double the smaller tail (and cap it at 1)."),
                (_chi_square, "this is the chi-square (normal) approximation; use the exact binomial sum."),
                (lambda b, c: 2 * sum(math.comb(b + c, i) for i in range(min(b, c) + 1)) / 2 ** (b + c),
                 "when b = c the doubled tail exceeds 1: cap the p-value with min(1, ...)."),
            ], _MCNEMAR_CASES, atol=1e-9)
        return checks.check_function(exercise, mcnemar_p, _MCNEMAR_CASES, atol=1e-9,
                                     hint=hint or "under H0, b ~ Binomial(b + c, 1/2): p = 2·P(X ≤ min(b, c)), at most 1.",
                                     success="")
    p = _exact(30, 18)
    if not isinstance(significant_at_5pct, bool):
        return checks.failed(exercise, f"your function is right; significant_at_5pct should be True or False, got "
                                       f"{significant_at_5pct!r}.", "compare mcnemar_p(30, 18) with 0.05.")
    if significant_at_5pct:
        return checks.failed(exercise, f"your function is right, but mcnemar_p(30, 18) = {p:.3f} is above 0.05.",
                             "30 against 18 looks lopsided, but with only 48 disagreements such a split happens by "
                             "chance more than one time in twenty.")
    checks.passed(exercise, f"your p-values equal the exact binomial test; p(30, 18) = {p:.3f} > 0.05, so not "
                            "significant. The 452 agreements do not enter: only the disagreements carry evidence.")
