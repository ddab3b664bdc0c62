"""Checks for notebook 14 (optimizers and learning-rate schedules)."""

from __future__ import annotations

import math
from typing import Any

import torch

from course_utils import checks

# Exercise 14.4: the validation losses of eight epochs, fed to ReduceLROnPlateau(factor=0.5, patience=2)
PLATEAU_VAL_LOSSES = (1.0, 0.8, 0.9, 0.85, 0.84, 0.83, 0.82, 0.81)


def _number(answer: Any) -> Any:
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer.item())
    return answer


def check_1(first_step: Any) -> None:
    """Exercise 14.1: |Δp| of Adam's first step without any bias correction (lr 0.01, betas 0.8/0.99)."""
    expected = 0.01 * 0.2 / math.sqrt(0.01)
    value = _number(first_step)
    found = checks.first_mistake(value, [
        (0.01, "0.01 is the first step *with* bias correction (m̂/√v̂ = g/|g| = ±1).",
         "without correction m₁ = 0.2·g and v₁ = 0.01·g²: put both into lr·m₁/√v₁."),
        (0.01 * 0.1 / math.sqrt(0.001), "that is the first step for the default betas (0.9, 0.999).",
         "here β₁ = 0.8 and β₂ = 0.99: m₁ = 0.2·g, v₁ = 0.01·g²."),
        (0.002, "0.002 divides by √v̂ (corrected) but uses the raw m₁ = 0.2·g.",
         "leave both moments uncorrected: lr·m₁/√v₁ with v₁ = 0.01·g²."),
        (0.01 / math.sqrt(0.01), "that corrects m but not v.", "use m₁ = 0.2·g as it is, too."),
        (0.2, "that divides by v₁ instead of √v₁.", "Adam divides by the square root of v."),
    ], atol=1e-6)
    problem, hint = found if found else (None, "m₁ = (1−β₁)g and v₁ = (1−β₂)g²; the step is lr·m₁/√v₁.")
    if problem is not None and not checks.is_placeholder(value):
        checks.failed("14.1", problem, hint)
        return
    checks.check_value("14.1", value, expected, tol=1e-5, hint=hint,
                       success=f"0.01·0.2/√0.01 = {expected:.2f}: twice the lr, along −sign(g), whatever the size of g. "
                               "With the default betas it is about 3.2 times: the smaller β₂, the weaker v's bias.")


def check_2(step_100: Any) -> None:
    """Exercise 14.2: Adagrad's step size at step 100 for a constant gradient g = 2 and lr = 0.1."""
    value = _number(step_100)
    found = checks.first_mistake(value, [
        (0.1, "0.1 is the very first step; Adagrad's denominator keeps growing.",
         "after 100 steps the sum of squares is 100·g²."),
        (0.02, "the gradient does not cancel: the denominator is √(100·g²) = 10·|g|, not √100.",
         "lr·g/√(Σg²) with Σg² = 100·4."),
        (0.0005, "that divides by the sum of squares, not by its square root.", "take √(Σg²)."),
    ], atol=1e-7)
    if found and not checks.is_placeholder(value):
        checks.failed("14.2", *found)
        return
    checks.check_value("14.2", value, 0.01, tol=1e-6, hint="the step is lr·g/√(Σ g²) over all 100 gradients.",
                       success="0.1·2/√(100·4) = 0.01: the step shrinks like 1/√t whatever the gradient.")


def _reference_clip(grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    return [g * scale for g in grads]


def _per_tensor(grads, max_norm):
    return [g * min(1.0, max_norm / (g.norm().item() + 1e-6)) for g in grads]


def _by_value(grads, max_norm):
    return [g.clamp(-max_norm, max_norm) for g in grads]


def _always_scale(grads, max_norm):
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    return [g * max_norm / (total + 1e-6) for g in grads]


def _flat(fn):
    def wrapped(grads, max_norm):
        out = fn([g.clone() for g in grads], max_norm)
        if checks.is_placeholder(out):
            return out
        return torch.cat([torch.as_tensor(t, dtype=torch.float32).flatten() for t in out])
    return wrapped


def _clip_cases() -> list[tuple[tuple, torch.Tensor]]:
    cases = []
    for grads, max_norm in (
        ([torch.tensor([3.0, 0.0]), torch.tensor([[0.0, 4.0]])], 1.0),   # total norm 5 -> scale 0.2
        ([torch.tensor([0.3, -0.4]), torch.tensor([1.2])], 2.0),          # total norm 1.3: unchanged
        ([torch.tensor([6.0, 8.0]), torch.tensor([0.1, 0.1, 0.1])], 5.0),  # one big tensor, one small
    ):
        cases.append(((grads, max_norm), torch.cat([t.flatten() for t in _reference_clip(grads, max_norm)])))
    return cases


def _clips_right(fn, cases) -> bool:
    try:
        return all(checks.close(fn(*args), want, atol=1e-5) for args, want in cases)
    except Exception:  # the learner's code: check_function reports it as a sentence
        return False


# Exercise 14.3: g₁ = (3, 0) and g₂ = (0, 4) clipped each to norm 1 give (1, 0, 0, 1); the full gradient is (3, 0, 0, 4)
PER_TENSOR_COSINE = 7 / (5 * math.sqrt(2))


def check_3(clip_global: Any, cosine_per_tensor: Any = None) -> None:
    """Exercise 14.3: ``clip_global(grads, max_norm)`` scales a list of gradients by their joint norm, and
    ``cosine_per_tensor`` predicts the cosine between per-tensor-clipped and original gradient."""
    exercise = "14.3"
    if checks.is_placeholder(clip_global) or not callable(clip_global):
        checks.check_function(exercise, clip_global, [])
        return
    cases = _clip_cases()
    fn = _flat(clip_global)
    hint = checks.match_mistake(fn, [
        (_flat(_per_tensor), "you clipped each tensor by its own norm; clip_grad_norm_ uses one norm over all of them."),
        (_flat(_by_value), "that clips each value to [−max_norm, max_norm] (clip_grad_value_), which turns the direction."),
        (_flat(_always_scale), "gradients whose joint norm is already below max_norm must stay as they are."),
    ], cases, atol=1e-5)
    if hint is not None or not _clips_right(fn, cases):
        checks.check_function(exercise, fn, cases, atol=1e-5,
                              hint=hint or "total = √(Σ over all tensors of Σ g²); multiply every tensor by "
                                           "min(1, max_norm/total).")
        return
    cosine = _number(cosine_per_tensor)
    if checks.is_placeholder(cosine):
        checks.not_done(exercise, "clip_global is right; now predict cosine_per_tensor.")
        return
    found = checks.first_mistake(cosine, [
        (1.0, "clipping each tensor separately does change the direction: (3, 0, 0, 4) becomes (1, 0, 0, 1).",
         "the cosine of a and b is a·b / (|a|·|b|)."),
        (0.0, "the two vectors are far from orthogonal.", "compute (1, 0, 0, 1)·(3, 0, 0, 4) / (√2 · 5)."),
    ], atol=1e-4)
    if found:
        return checks.failed(exercise, *found)
    checks.check_value(exercise, cosine, PER_TENSOR_COSINE, tol=1e-3,
                       hint="(3, 0) → (1, 0) and (0, 4) → (0, 1); the cosine is a·b / (|a|·|b|) of the joined vectors.",
                       success=f"joint clipping keeps the direction; clipping per tensor gives (1, 0, 0, 1), cosine "
                               f"7/(5√2) ≈ {PER_TENSOR_COSINE:.3f}: the small tensor gains weight relative to the big one.")


def plateau_lrs(losses=PLATEAU_VAL_LOSSES, lr: float = 0.1, factor: float = 0.5, patience: int = 2) -> list[float]:
    """The lr after each epoch's ``ReduceLROnPlateau.step(val_loss)``, from PyTorch itself."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=factor, patience=patience)
    out = []
    for loss in losses:
        scheduler.step(loss)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def check_4(lrs_after_each_epoch: Any) -> None:
    """Exercise 14.4: predict ReduceLROnPlateau's lr after each of the eight epochs."""
    exercise = "14.4"
    if checks.unanswered(exercise, lrs_after_each_epoch):
        return
    expected = plateau_lrs()
    try:
        answer = [float(v) for v in lrs_after_each_epoch]
    except (TypeError, ValueError):
        checks.failed(exercise, f"expected a list of 8 numbers, got {type(lrs_after_each_epoch).__name__}.",
                      "write one lr per epoch, e.g. [0.1, 0.1, ...].")
        return
    if len(answer) != len(expected):
        checks.failed(exercise, f"the list has {len(answer)} values; there are {len(expected)} epochs.", None)
        return
    same = all(math.isclose(a, e, rel_tol=1e-6) for a, e in zip(answer, expected, strict=True))
    if same:
        checks.passed(exercise, f"{expected}: the lr halves only after *more than* 2 epochs without a new best.")
        return
    hint = "count the epochs since the best loss so far; the lr is cut once that count exceeds patience = 2."
    if all(math.isclose(a, 0.1) for a in answer):
        hint = "an epoch counts as bad when it does not beat the *best* loss so far, not the previous epoch."
    elif answer == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]:
        hint = "patience = 2 allows two bad epochs; the cut comes on the third."
    wrong = next(k for k, (a, e) in enumerate(zip(answer, expected, strict=True)) if not math.isclose(a, e, rel_tol=1e-6))
    checks.failed(exercise, f"the lr after epoch {wrong} is not right (epochs count from 0).", hint)
