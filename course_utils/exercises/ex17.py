"""Checks for notebook 17 (transfer learning and fine-tuning)."""

from __future__ import annotations

import math
from typing import Any

from course_utils import checks

# exercise 17.1: SmallCNN(3) with backbone[7] (conv 32→64, 3x3) and backbone[8] (BatchNorm2d(64)) left trainable
LAST_CONV = 3 * 3 * 32 * 64 + 64
LAST_BN = 2 * 64
HEAD_3 = 256 * 3 + 3

# exercise 17.2: the gap (pretrained − random frozen backbone) on plain 8x8 digits, compared with the canvas
GAP_ANSWERS = ("larger", "about the same", "smaller")

# exercise 17.3: AdamW groups (backbone lr 1e-4, head default 1e-3), StepLR(step_size=2, gamma=0.5), 5 steps
BACKBONE_LR, DEFAULT_LR, STEP_SIZE, GAMMA, SCHED_STEPS = 1e-4, 1e-3, 2, 0.5, 5

# exercise 17.4: the BatchNorm layers of SmallCNN's backbone, 20 train-mode batches at momentum 0.1
BN_INDICES = (1, 4, 8)
BATCHES, MOMENTUM = 20, 0.1


def _is_number(value: Any) -> bool:
    value = checks.as_number(value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is(value: float) -> Any:
    return lambda a: isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, value, rel_tol=1e-9)


def check_1(trainable: Any) -> None:
    """Exercise 17.1: trainable parameters of SmallCNN(3) with all but the last backbone block frozen."""
    exercise, expected = "17.1", LAST_CONV + LAST_BN + HEAD_3
    value = checks.as_number(trainable)
    if checks.is_placeholder(value):
        return checks.not_done(exercise)
    found = checks.first_mistake(value, [
        (_is(HEAD_3), "that is the head alone; the last convolution and its BatchNorm are trainable too.", None),
        (_is(LAST_CONV + HEAD_3), "the BatchNorm layer backbone[8] has parameters too: γ and β, 64 each.", None),
        (_is(LAST_CONV - 64 + LAST_BN + HEAD_3), "a convolution has a bias per output channel: add 64.", None),
        (_is(LAST_CONV + LAST_BN + HEAD_3 - 3), "the head's bias counts too: 3 more.", None),
        (_is(LAST_CONV + 4 * 64 + HEAD_3), "running mean and variance are buffers, not parameters: BatchNorm has 2·64.",
         None),
        (_is(LAST_CONV + LAST_BN + 256 * 5 + 5), "this head has 3 classes, not 5.", None),
        (_is(3 * 3 * 16 * 32 + 32 + 2 * 32 + HEAD_3), "that is the second block; the last one maps 32 → 64 channels.",
         None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, value, expected, hint="add k²·C_in·C_out + C_out for the conv, 2·C for the "
                       "BatchNorm and n_in·n_out + n_out for the head (256 features in, 3 out).",
                       success=f"18,496 (conv) + 128 (BatchNorm) + 771 (head) = {expected:,}.")


def check_2(prediction: Any) -> None:
    """Exercise 17.2: the gap pretrained − random frozen backbone at n = 10 on plain 8x8 digits vs on the canvas."""
    exercise = "17.2"
    if checks.unanswered(exercise, prediction):
        return
    if prediction not in GAP_ANSWERS:
        return checks.failed(exercise, f"expected one of {GAP_ANSWERS}, got {prediction!r}.", None)
    checks.verdict(exercise, {
        "larger": ("on the plain digits every digit sits in the same place, so there is less to transfer, not more.",
                   "what does the pretrained backbone know that a random one does not, on the canvas?"),
        "about the same": ("the canvas makes the features matter: a digit can sit anywhere there, but not in the "
                           "plain 8x8 images.",
                           "on fixed-position digits, are random convolution features plus a trained head enough?"),
    }.get(prediction), "on fixed-position 8x8 digits random convolutional features plus a trained head already "
                       "separate the classes well; what pretraining adds on the canvas is recognising strokes "
                       "wherever they sit. The next cell measures it.")


def _lrs(gamma_power: int) -> list[float]:
    return [BACKBONE_LR * GAMMA**gamma_power, DEFAULT_LR * GAMMA**gamma_power]


def check_3(group_lrs: Any) -> None:
    """Exercise 17.3: the two groups' learning rates after five StepLR steps."""
    exercise = "17.3"
    expected = _lrs(SCHED_STEPS // STEP_SIZE)
    if checks.is_placeholder(group_lrs) or (isinstance(group_lrs, list | tuple) and any(map(checks.is_placeholder,
                                                                                             group_lrs))):
        return checks.not_done(exercise)
    try:
        got = [float(checks.as_number(v)) for v in group_lrs]
    except (TypeError, ValueError):
        return checks.failed(exercise, f"expected a list of two floats, got {group_lrs!r}.", None)
    if len(got) != 2:
        return checks.failed(exercise, f"expected two learning rates (backbone, head), got {len(got)}.", None)

    def same(a: list[float], b: list[float]) -> bool:
        return all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, b, strict=True))

    mistakes = [
        (_lrs(SCHED_STEPS), "that halves the rates five times; StepLR halves every step_size = 2 steps.", None),
        (_lrs(3), "after 5 steps StepLR has halved twice (at steps 2 and 4), not three times.", "5 // 2 = 2."),
        (_lrs(0), "these are the starting rates; the scheduler has halved them since.", None),
        ([BACKBONE_LR * 0.25, BACKBONE_LR * 0.25], "the head's group has no 'lr': it takes the default 1e-3, not 1e-4.",
         None),
        ([DEFAULT_LR * 0.25, DEFAULT_LR * 0.25], "the backbone group sets its own lr, 1e-4; the default 1e-3 is only "
                                                 "for groups without one.", None),
        (expected[::-1], "the order is [backbone, head].", None),
    ]
    for wrong, problem, hint in mistakes:
        if same(got, wrong):
            return checks.failed(exercise, problem, hint)
    if same(got, expected):
        return checks.passed(exercise, f"StepLR halved both groups twice: {expected[0]:g} and {expected[1]:g}; the "
                                       "ratio 1:10 between the groups is kept.")
    checks.failed(exercise, f"{got} are not the learning rates after five scheduler steps.",
                  "the head takes the default lr; StepLR multiplies every group by gamma every step_size steps.")


def check_4(answer: Any) -> None:
    """Exercise 17.4: after 20 train-mode batches (momentum 0.1), the batch counter and the weight left on the
    pretrained running mean."""
    exercise = "17.4"
    if checks.unanswered(exercise, answer):
        return
    if not (isinstance(answer, tuple | list) and len(answer) == 2 and all(map(_is_number, answer))):
        return checks.failed(exercise, f"expected a tuple (num_batches_tracked, weight), got {answer!r}.", None)
    count, weight = (checks.as_number(a) for a in answer)
    kept = (1 - MOMENTUM) ** BATCHES
    if count != BATCHES:
        hints = {BATCHES * len(BN_INDICES): "each BatchNorm layer has its own counter: 20 in each, not 60 in all.",
                 1: "the counter grows by one per training-mode forward pass, not once."}
        return checks.failed(exercise, f"num_batches_tracked is not {count!r}.",
                             hints.get(count, "how many training-mode forward passes went through the layer?"))
    found = checks.first_mistake(weight, [
        (_is(1 - kept), "that is the weight of the 20 new batches together; what is left of the old mean is the rest.",
         None),
        (_is(MOMENTUM**BATCHES), "each update keeps 1 − m = 0.9 of the old value, not m = 0.1.", None),
        (_is((1 - MOMENTUM) ** (BATCHES - 1)), "20 updates multiply by 0.9 twenty times.", None),
        (lambda w: _is_number(w) and w < 0, "a weight left after averaging cannot be negative: the updates "
         "multiply by (1 − m), they do not subtract m.", None),
    ])
    if found is not None:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, weight, kept, tol=1e-4,
                       hint="each update keeps (1 − m) of the running mean: 20 updates keep (1 − m)²⁰.", success=f"20 batches counted; 0.9²⁰ ≈ {kept:.3f} of the pretrained running mean "
                       "is left, so the statistics now mostly describe the new digits.")
