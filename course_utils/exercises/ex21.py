"""Checks for notebook 21 (making training fast on one machine)."""

from __future__ import annotations

from typing import Any

from course_utils import checks

# Exercise 21.2: a made-up profile of one training step (total CPU time of each node, in ms)
PROFILE_TREE = """\
train_step                 total 100 ms
├── forward                total  40 ms
│   ├── aten::conv2d       total  30 ms   (no children)
│   └── aten::relu         total   6 ms   (no children)
├── backward               total  45 ms   (no children)
└── optimizer.step         total  10 ms   (no children)"""


def _check_number(exercise: str, answer: Any, right: float, mistakes: list, hint: str, success: str, *,
                  atol: float) -> None:
    """A predicted number: "not done" for ``...``, the first matching mistake with its hint, or passed."""
    value = checks.as_number(answer)
    if checks.unanswered(exercise, value, expect="number"):
        return
    wrong = (lambda v: not checks.close(v, right, atol=atol), f"{value!r} is not right.", hint)
    checks.verdict(exercise, checks.first_mistake(value, [*mistakes, wrong], atol=atol), success)


FLOPS_1 = 2 * 64 * 32 * 8 * 8 * 16 * 3 * 3


def check_1(conv_flops: Any) -> None:
    """Exercise 21.1: FLOPs of Conv2d(16, 32, 3, stride=2, padding=1) on 64 images of 16 channels, 16x16 pixels."""
    _check_number("21.1", conv_flops, FLOPS_1, [
        (FLOPS_1 // 2, "that counts multiply-adds (MACs), not FLOPs.",
         "each term of the dot product is one multiply and one add: 2 FLOPs."),
        (FLOPS_1 * 4, "that is the output size without the stride (16x16).",
         "stride 2 takes every second position: H_out = (16 + 2·1 − 3) // 2 + 1 = 8."),
        (2 * 64 * 32 * 7 * 7 * 16 * 9, "that is the output size without padding (7x7).",
         "with padding=1: H_out = (16 + 2 − 3) // 2 + 1 = 8."),
        (FLOPS_1 // 64, "that is the cost of one image.", "the batch of 64 multiplies everything."),
        (FLOPS_1 // 3, "that uses k instead of k² = 9 weights per input channel.",
         "each output value sums over C_in·k·k = 16·3·3 inputs."),
    ], "FLOPs = 2·B·C_out·H_out·W_out·C_in·k², with H_out = W_out = (16 + 2·1 − 3) // 2 + 1.",
        f"2·64·32·8·8·16·9 = {FLOPS_1:,} FLOPs: the stride quarters the outputs, and so the work, of the same "
        "layer with stride 1.", atol=0.5)


def check_2(self_ms: Any) -> None:
    """Exercise 21.2: (self time of train_step, self time of forward) in the tree ``PROFILE_TREE``."""
    if checks.is_placeholder(self_ms):
        checks.not_done("21.2")
        return
    try:
        answer = tuple(float(checks.as_number(v)) for v in self_ms)
    except (TypeError, ValueError):
        checks.failed("21.2", f"expected a pair of numbers (train_step_self, forward_self); got {self_ms!r}.",
                      "write it as a tuple, e.g. (1.0, 2.0).")
        return
    if len(answer) != 2:
        checks.failed("21.2", f"expected two numbers; got {len(answer)}.", "(train_step self, forward self)")
        return
    found = checks.first_mistake(answer, [
        (lambda a: checks.close(a[0], 100.0) or checks.close(a[1], 40.0),
         "that is a total time, which includes the children.", "self time = total time − the children's totals."),
        (lambda a: checks.close(a[0], 100 - 40 - 30 - 6 - 45 - 10),
         "train_step's self time subtracts its grandchildren too (conv2d and relu).",
         "subtract only the direct children's totals: forward, backward, optimizer.step."),
        (lambda a: checks.close(a, (0.0, 0.0)), "a wrapper is rarely free: the children do not add up to the totals.",
         "100 − (40 + 45 + 10) and 40 − (30 + 6)."),
        (lambda a: checks.close(a, (4.0, 5.0)), "the two numbers are swapped.", "first train_step, then forward."),
    ])
    if found:
        checks.failed("21.2", *found)
        return
    if checks.close(answer[0], 5.0) and checks.close(answer[1], 4.0):
        checks.passed("21.2", "train_step: 100 − 95 = 5 ms of its own, forward: 40 − 36 = 4 ms. Self times add up to "
                              "the total of the step (5 + 4 + 30 + 6 + 45 + 10 = 100), totals do not.")
        return
    checks.failed("21.2", f"{answer} is not right.", "self time = total time − the sum of the direct children's totals.")


def check_3(calls: Any) -> None:
    """Exercise 21.3: calls after which a 12 s compile that cuts a call from 5 ms to 2 ms has paid for itself."""
    saved = "5 ms − 2 ms = 3 ms saved."
    _check_number("21.3", calls, 4000.0, [
        (4.0, "the compile time is in seconds but the call times are in milliseconds: convert first.",
         "3 ms saved per call is 0.003 s."),
        (2400.0, "that divides by the eager time; divide by the time *saved* per call.", saved),
        (6000.0, "that divides by the compiled time; divide by the time *saved* per call.", saved),
    ], "N* = compile time ÷ (eager − compiled), both in seconds.",
        "12 s ÷ 0.003 s = 4,000 calls: a compile of seconds needs thousands of calls that each save milliseconds, "
        "so it pays in training or serving, not in a quick notebook experiment.", atol=1.0)


def check_4(first_missing: Any) -> None:
    """Exercise 21.4: the smallest positive integer that bfloat16 cannot represent exactly."""
    _check_number("21.4", first_missing, 257.0, [
        (129.0, "that counts the 7 stored fraction bits only; the implicit leading 1 is an 8th significant bit.",
         "with 8 significant bits every integer up to 2⁸ = 256 is exact."),
        (256.0, "256 = 2⁸ is exact: a power of two needs one significant bit.",
         "above 256 the spacing is 2⁸⁻⁷ = 2, so the first odd number after it is missing."),
        (2049.0, "that is float16 (11 significant bits); bfloat16 keeps 8.",
         "every integer up to 2⁸ is exact; above it the spacing is 2."),
    ], "between 2^e and 2^(e+1) bfloat16 numbers are 2^(e−7) apart; find the first e where that spacing is 2.",
        "257: between 256 and 512 bfloat16 numbers are 2⁸⁻⁷ = 2 apart, so 257 rounds to 256 (a tie, rounded to "
        "the even significand). Counts and indices above 256 are not safe in bfloat16.", atol=1e-9)


def check_5(ratio: Any) -> None:
    """Exercise 21.5: 5 batches, each taking the same loading time, shared by 2 workers: time with ÷ without."""
    by_rounds = {  # rounds a wrong model of the workers counts, for 5 batches over 2 workers -> (problem, hint)
        2.5: ("that splits the items evenly; a worker loads a whole batch, so 5 batches need 3 rounds.",
              "round 1: batches 1 and 2, round 2: batches 3 and 4, round 3: batch 5 alone."),
        2.0: ("that counts the rounds of the other worker (2) instead of the last one to finish (3).",
              "the pass ends when the last batch is loaded: after ⌈5 / 2⌉ rounds."),
    }
    _check_number("21.5", ratio, 0.6, [(rounds / 5, *why) for rounds, why in by_rounds.items()], "time with workers ≈ ⌈batches / workers⌉ rounds; without, one round per batch.",
        "⌈5 / 2⌉ = 3 rounds instead of 5: a ratio of 3/5 = 0.6. With 6 batches it would be 3/6 = 0.5; the "
        "workers' start-up and the copies between processes come on top.", atol=0.01)
