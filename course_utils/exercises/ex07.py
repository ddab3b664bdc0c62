"""Checks for notebook 07 (initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_utils import checks

TANH_GAIN = 5 / 3  # nn.init.calculate_gain("tanh")


def _is(*values: float) -> Callable[[Any], bool]:
    """A ``checks.first_mistake`` predicate: the answer is one of ``values``, to 0.1 % (relative)."""
    return lambda answer: any(checks.close(answer, value, atol=0.0, rtol=1e-3) for value in values)


# --------------------------------------------------------------------------- 07.1: a Kaiming std, fan_out, tanh


def check_1(kaiming_std: Any) -> None:
    """Exercise 07.1: the std of ``kaiming_normal_(w, mode='fan_out', nonlinearity='tanh')`` for ``nn.Linear(512, 128)``."""
    expected = TANH_GAIN / math.sqrt(128)
    value = checks.as_number(kaiming_std)
    _, hint = checks.first_mistake(value, [
        (_is(TANH_GAIN / math.sqrt(512)), None,
         "that is fan_in (512). The weight of nn.Linear(512, 128) has shape (128, 512); fan_out is the number "
         "of outputs, 128."),
        (_is(math.sqrt(2 / 128), math.sqrt(2 / 512)), None,
         "sqrt(2) is the ReLU gain; nonlinearity='tanh' uses calculate_gain('tanh') = 5/3."),
        (_is(1 / math.sqrt(128), 1 / math.sqrt(512)), None, "the tanh gain 5/3 is missing: std = gain / sqrt(fan)."),
        (_is(TANH_GAIN**2 / 128, TANH_GAIN**2 / 512), None, "that is the variance gain² / fan; the std is its square root."),
        (_is(TANH_GAIN * math.sqrt(2 / 640), math.sqrt(2 / 640)), None,
         "that is Xavier's sqrt(2 / (fan_in + fan_out)); Kaiming uses one fan only, chosen by mode."),
        (_is(TANH_GAIN * math.sqrt(3 / 128), TANH_GAIN * math.sqrt(3 / 512)), None,
         "gain·sqrt(3 / fan) is the bound of kaiming_uniform_; the normal version's std is gain / sqrt(fan)."),
    ]) or (None, "Kaiming normal: std = gain / sqrt(fan), with the fan that mode names and the gain of the nonlinearity.")
    checks.check_value("07.1", value, expected, tol=1e-4, hint=hint,
                       success=f"(5/3) / sqrt(128) = {expected:.4f}: fan_out is the 128 outputs.")


# --------------------------------------------------------------------------- 07.2: a zero-initialised sigmoid net

_PARAMETERS = ("0.weight", "0.bias", "2.weight", "2.bias")


def zero_sigmoid_gradients(steps: int = 2, lr: float = 0.5) -> list[dict[str, torch.Tensor]]:
    """Autograd's gradients of the all-zero 64-16-10 sigmoid net at each of ``steps`` full-batch SGD steps.

    The batch is the first 500 digits; each entry maps a parameter name to its gradient.
    """
    from course_utils import data

    x, y = data.load_digits_tensors()
    x, y = x[:500], y[:500]
    model = nn.Sequential(nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    for p in model.parameters():
        nn.init.zeros_(p)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    grads = []
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        grads.append({name: p.grad.detach().clone() for name, p in model.named_parameters()})
        optimizer.step()
    return grads


def _parameter_set(answer: Any) -> set[str] | None:
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, set | frozenset | list | tuple) or not all(isinstance(a, str) for a in answer):
        return None
    return {a.removeprefix("model.") for a in answer}


_STEP1_HINTS = {
    "missing 2.weight": "sigmoid(0) = 1/2, not 0 (that was tanh): h ≠ 0, so ∂L/∂W₂ = δ hᵀ is not zero.",
    "missing 2.bias": "the output bias gets softmax − one-hot, averaged over the batch: not zero.",
    "extra 0.weight": "at step 1, W₂ = 0, so the gradient that reaches the hidden layer, W₂ᵀ δ, is 0.",
    "extra 0.bias": "at step 1, W₂ = 0, so the gradient that reaches the hidden layer, W₂ᵀ δ, is 0.",
}
_STEP2_HINTS = {
    "missing 0.weight": "after step 1, W₂ is no longer 0, so W₂ᵀ δ reaches the hidden layer.",
    "missing 0.bias": "after step 1, W₂ is no longer 0, so W₂ᵀ δ reaches the hidden layer.",
    "missing 2.weight": "h is still sigmoid(0) = 1/2 at step 2, so ∂L/∂W₂ = δ hᵀ is not zero.",
    "missing 2.bias": "the output bias gets softmax − one-hot, averaged over the batch: not zero.",
}


def _set_problem(step: int, names: set[str], truth: set[str], hints: dict[str, str]) -> tuple[str, str] | None:
    for name in _PARAMETERS:
        if name in truth and name not in names:
            return (f"at step {step}, {name} does get a gradient.",
                    hints.get(f"missing {name}", "look at what is zero at this step."))
        if name in names and name not in truth:
            return (f"at step {step}, {name} gets no gradient.",
                    hints.get(f"extra {name}", "look at what is zero at this step."))
    return None


def check_2(step1_grads: Any, step2_grads: Any, distinct_hidden_units: Any) -> None:
    """Exercise 07.2: which parameters of the all-zero sigmoid net get a gradient at steps 1 and 2, and how
    many different hidden units there are after step 2, compared with autograd."""
    exercise = "07.2"
    if checks.unanswered(exercise, step1_grads, step2_grads, distinct_hidden_units):
        return
    answers = [_parameter_set(step1_grads), _parameter_set(step2_grads)]
    for step, names in enumerate(answers, start=1):
        if names is None or not names <= set(_PARAMETERS):
            checks.failed(exercise, f"step{step}_grads should be a set of parameter names from {', '.join(_PARAMETERS)}.",
                          "write e.g. {'2.bias'}: the names that model.named_parameters() gives.")
            return
    grads = zero_sigmoid_gradients()
    truth = [{name for name, g in step.items() if g.abs().max().item() > 0} for step in grads]
    for step, (names, real, hints) in enumerate(zip(answers, truth, (_STEP1_HINTS, _STEP2_HINTS), strict=True), 1):
        found = _set_problem(step, names, real, hints)
        if found is not None:
            checks.failed(exercise, *found)
            return
    distinct = int(torch.unique(grads[1]["0.weight"], dim=0).shape[0])
    count = checks.as_number(distinct_hidden_units)
    if not isinstance(count, int | float) or isinstance(count, bool) or count != distinct:
        checks.failed(exercise, f"distinct_hidden_units: {distinct_hidden_units!r} is not what autograd finds.",
                      "every hidden unit starts with the same (zero) weights, sees the same input and gets the "
                      "same column of W₂: do their gradients ever differ?")
        return
    checks.passed(exercise, f"as autograd says: at step 1 only the output layer moves (|∂L/∂W₂| up to "
                  f"{grads[0]['2.weight'].abs().max().item():.1e}); at step 2 the hidden layer moves too "
                  f"(|∂L/∂W₁| up to {grads[1]['0.weight'].abs().max().item():.1e}), but all 16 units get the same "
                  "update: they stay copies of one unit.")


# --------------------------------------------------------------------------- 07.3: Xavier uniform for tanh, by hand

_XAVIER_TANH_BOUND = TANH_GAIN * math.sqrt(6 / (128 + 512))


def _xavier_layer_problem(layer: Any) -> tuple[str, str] | None:
    """``(problem, hint)`` for a layer that is not nn.Linear(128, 512) with Xavier-uniform tanh weights, else None."""
    if not isinstance(layer, nn.Linear):
        return f"expected an nn.Linear layer, got {type(layer).__name__}.", "create it with nn.Linear(128, 512)."
    if tuple(layer.weight.shape) != (512, 128):
        return (f"the weight has shape {tuple(layer.weight.shape)}, not (512, 128).",
                "nn.Linear(in_features, out_features) stores its weight as (out, in): use nn.Linear(128, 512).")
    if layer.bias is None or layer.bias.detach().abs().max().item() != 0:
        return "the biases are not all zero.", "set them to zero, e.g. with nn.init.zeros_(layer.bias)."
    w = layer.weight.detach()
    a = _XAVIER_TANH_BOUND
    largest, std = w.abs().max().item(), w.std().item()
    if abs(w.mean().item()) > 0.01:
        return f"the weights have mean {w.mean().item():.4f}; Xavier is centred on 0.", "draw from U(−a, a)."
    if largest > 1.2 * math.sqrt(3) * std:
        return ("the largest |weight| is far above the std times √3: these weights look normal, not uniform.",
                "use a uniform distribution U(−a, a): nn.init.uniform_ or xavier_uniform_.")
    if abs(largest - a) <= 0.02 * a:
        return None
    text = f"the weights fill U(−{largest:.4f}, {largest:.4f}), but the bound should be {a:.4f}."

    def bound_is(value: float) -> Callable[[float], bool]:
        return lambda b: abs(b - value) <= 0.02 * value

    return checks.first_mistake(largest, [
        (bound_is(math.sqrt(6 / 640)), text, "the tanh gain is missing: a = gain · sqrt(6 / (fan_in + fan_out)), "
                                             "gain = calculate_gain('tanh')."),
        (bound_is(math.sqrt(2) * math.sqrt(6 / 640)), text, "sqrt(2) is the ReLU gain; for tanh it is 5/3."),
        (bound_is(1 / math.sqrt(128)), text, "these are PyTorch's default weights: re-initialise them."),
        (bound_is(TANH_GAIN * math.sqrt(3 / 128)), text,
         "that is kaiming_uniform_ with fan_in; Xavier uses both fans: sqrt(6 / (fan_in + fan_out))."),
        (bound_is(TANH_GAIN * math.sqrt(3 / 512)), text,
         "that is kaiming_uniform_ with fan_out; Xavier uses both fans: sqrt(6 / (fan_in + fan_out))."),
        (bound_is(TANH_GAIN * math.sqrt(2 / 640)), text,
         "sqrt(2 / (fan_in + fan_out)) is Xavier's std; U(−a, a) has std a/√3, so the bound is sqrt(6 / ...)."),
    ]) or (text, "a = gain · sqrt(6 / (fan_in + fan_out)), with gain 5/3 for tanh.")


def check_3(xavier_layer: Any) -> None:
    """Exercise 07.3: nn.Linear(128, 512) before a tanh, Xavier-uniform weights with the tanh gain, zero biases."""
    exercise = "07.3"
    if checks.unanswered(exercise, xavier_layer):
        return
    found = _xavier_layer_problem(xavier_layer)
    checks.verdict(exercise, found, f"weights in U(±{_XAVIER_TANH_BOUND:.4f}): (5/3)·sqrt(6/640), biases zero.")


# --------------------------------------------------------------------------- 07.4: predict a tanh stack's std

# (gain, depth, width) of the stacks the prediction is compared with: none of them is printed in the notebook
PREDICTION_CASES = ((1.3, 30, 256), (2.0, 10, 256), (2.5, 30, 512))
PREDICTION_RTOL = 0.05


def measured_tanh_std(gain: float, depth: int, width: int) -> float:
    """The last layer's activation std of a fresh tanh stack with weights N(0, (gain/√width)²)."""
    from course_utils.topics import initialization

    stats = initialization.stack_stats(depth, width, "tanh", "normal", std=gain / math.sqrt(width))
    return stats.activation_std[-1]


def _recursion(gain_factor: Callable[[float], float], output: str = "h std") -> Callable[[float, int], float]:
    """A version of the variance recursion (right with gain² and "h std"), for ``checks.match_mistake``.

    ``output`` is what it returns for the last layer: the activation's std ``"h std"``, the
    pre-activation's std ``"z std"`` or its variance ``"z var"``.
    """
    z = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def tanh2(q: float) -> float:
        return torch.tanh(math.sqrt(q) * z).pow(2).mean().item()

    def predict(gain: float, depth: int) -> float:
        q = gain_factor(gain)
        for _ in range(depth - 1):
            q = gain_factor(gain) * tanh2(q)
        return {"h std": math.sqrt(tanh2(q)), "z std": math.sqrt(q), "z var": q}[output]

    return predict


_PREDICTION_MISTAKES = [
    (_recursion(lambda g: 1.0),
     "the gain is missing: each layer multiplies the variance by n·Var(W) = gain², so q ← gain² · E[h²]."),
    (_recursion(lambda g: g),
     "each layer multiplies the variance by gain² (n·Var(W) with std gain/√n), not by gain."),
    (_recursion(lambda g: g * g, "z std"),
     "that is the std of the pre-activation z; the question asks for the activation h = tanh(z): sqrt(E[tanh(z)²])."),
    (_recursion(lambda g: g * g, "z var"),
     "that is the variance of the pre-activation; the question asks for the std of the activation h = tanh(z)."),
]


def check_4(predict_tanh_std: Any) -> None:
    """Exercise 07.4: predict the last layer's activation std of a tanh stack from the variance recursion."""
    exercise = "07.4"
    if checks.unanswered(exercise, predict_tanh_std, expect="function"):
        return
    measured = [measured_tanh_std(gain, depth, width) for gain, depth, width in PREDICTION_CASES]
    predicted = []
    for gain, depth, _ in PREDICTION_CASES:
        try:
            value = checks.as_number(predict_tanh_std(gain, depth))
        except NotImplementedError:
            checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
            return
        except Exception as error:  # the learner's code: report it as a sentence
            checks.failed(exercise, f"predict_tanh_std({gain}, {depth}) raised {type(error).__name__}: {error}")
            return
        if value is None or value is Ellipsis:
            checks.not_done(exercise, "your function returns nothing yet: finish it and `return` the result.")
            return
        if not isinstance(value, int | float) or isinstance(value, bool):
            checks.failed(exercise, f"predict_tanh_std({gain}, {depth}) returned {value!r}, not a number.")
            return
        predicted.append(float(value))
    rows = ", ".join(f"gain {g:g}, {d} layers of {w}: predicted {p:.3f}, measured {m:.3f}"
                     for (g, d, w), p, m in zip(PREDICTION_CASES, predicted, measured, strict=True))
    if all(abs(p - m) <= PREDICTION_RTOL * m for p, m in zip(predicted, measured, strict=True)):
        checks.passed(exercise, f"{rows}. The recursion needs no network at all.")
        return
    cases = [((gain, depth), m) for (gain, depth, _), m in zip(PREDICTION_CASES, measured, strict=True)]
    hint = checks.match_mistake(predict_tanh_std, _PREDICTION_MISTAKES, cases, atol=0.0, rtol=0.03)
    worst = max(range(len(cases)), key=lambda k: abs(predicted[k] - measured[k]) / measured[k])
    (gain, depth, width), p, m = PREDICTION_CASES[worst], predicted[worst], measured[worst]
    checks.failed(exercise, f"for gain {gain:g} and {depth} layers of {width} you predict {p:.3f}, the stack gives "
                  f"{m:.3f} (more than {PREDICTION_RTOL:.0%} apart).",
                  hint or "start from q = gain² (the inputs have variance 1), repeat q ← gain² · E[tanh(√q·z)²] "
                          "once per further layer, and return sqrt(E[tanh(√q·z)²]).")
