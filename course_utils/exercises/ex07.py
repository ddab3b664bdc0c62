"""Checks for notebook 07 (initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from course_utils import checks


def _is(*values: float) -> Callable[[Any], bool]:
    """A ``checks.first_mistake`` predicate: the answer is one of ``values``, to 0.1 % (relative)."""
    return lambda answer: any(checks.close(answer, value, atol=0.0, rtol=1e-3) for value in values)


def check_1(he_std_256: Any) -> None:
    """Exercise 07.1: the He (Kaiming) normal std for a ReLU layer with fan_in = 256."""
    expected = math.sqrt(2 / 256)
    value = checks.as_number(he_std_256)
    _, hint = checks.first_mistake(value, [
        (_is(2 / 256), None, "2/256 is the variance; the std is its square root."),
        (_is(1 / math.sqrt(256)), None,
         "1/sqrt(fan_in) misses the factor 2 that makes up for ReLU zeroing half of its inputs."),
        (_is(math.sqrt(6 / 256)), None,
         "sqrt(6 / fan_in) is the bound of He's *uniform* version; the normal version's std is sqrt(2 / fan_in)."),
        (_is(math.sqrt(2) / 256), None, "take the square root of the whole fraction 2/256, not only of the 2."),
    ]) or (None, "He init: Var(W) = 2 / fan_in, and the std is the square root of the variance.")
    checks.check_value("07.1", value, expected, tol=1e-4, hint=hint, success=f"sqrt(2/256) = {expected:.4f}.")


_PARAMETERS = ("0.weight", "0.bias", "2.weight", "2.bias")
_GRADIENT_HINTS = {
    "2.weight": "∂L/∂W₂ = δ hᵀ, and every hidden output is h = tanh(0) = 0, so this gradient is 0.",
    "0.weight": "the gradient reaching the hidden layer is W₂ᵀ δ, and W₂ = 0: the hidden weights get 0.",
    "0.bias": "the hidden bias also gets W₂ᵀ δ · tanh'(0), which is 0 because W₂ = 0.",
}


def _zero_init_bias_grad(y: torch.Tensor) -> torch.Tensor:
    """The output-bias gradient of the mean cross-entropy of the all-zero 64-16-10 tanh net, by autograd."""
    model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    for p in model.parameters():
        nn.init.zeros_(p)
    x = torch.rand(len(y), 64, generator=torch.Generator().manual_seed(7))
    nn.functional.cross_entropy(model(x), y).backward()
    return model[2].bias.grad


def _bias_grad_cases() -> list[tuple[tuple, torch.Tensor]]:
    g = torch.Generator().manual_seed(2)
    ys = [torch.tensor([3, 3, 3, 0]), torch.randint(0, 10, (50,), generator=g), torch.arange(10)]
    return [((y,), _zero_init_bias_grad(y)) for y in ys]


_BIAS_GRAD_MISTAKES = [
    (lambda y: torch.bincount(y, minlength=10).float() / len(y) - 0.1,
     "the sign is flipped: ∂L/∂logit = softmax − one-hot, so it is 0.1 minus the class frequency."),
    (lambda y: 0.1 * len(y) - torch.bincount(y, minlength=10).float(),
     "that is the gradient of the *summed* loss; cross_entropy averages over the batch: divide by len(y)."),
    (lambda y: torch.full((10,), 0.1), "the softmax is 0.1 everywhere, but subtract the one-hot targets (averaged)."),
    (lambda y: torch.zeros(10), "the output bias does get a gradient: softmax − one-hot is not 0."),
]


def _parameter_set(answer: Any) -> set[str] | None:
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, set | frozenset | list | tuple) or not all(isinstance(a, str) for a in answer):
        return None
    return {a.removeprefix("model.") for a in answer}


def check_2(nonzero_grads: Any, zero_init_bias_grad: Any) -> None:
    """Exercise 07.2: which parameters of the all-zero net get a gradient, and the output-bias gradient by hand."""
    exercise = "07.2"
    if checks.unanswered(exercise, nonzero_grads, zero_init_bias_grad):
        return
    names = _parameter_set(nonzero_grads)
    if names is None or not names <= set(_PARAMETERS):
        checks.failed(exercise, f"nonzero_grads should be a set of parameter names from {', '.join(_PARAMETERS)}; "
                      f"got {nonzero_grads!r}.", "write e.g. {'2.bias'}: the names of model.named_parameters().")
        return
    extra = sorted(names - {"2.bias"})
    if extra:
        checks.failed(exercise, f"{extra[0]} gets no gradient in the all-zero network.", _GRADIENT_HINTS[extra[0]])
        return
    if "2.bias" not in names:
        checks.failed(exercise, "one parameter does get a gradient.",
                      "the output bias: its gradient is softmax − one-hot, averaged, and the softmax of zero logits is 0.1.")
        return
    cases = _bias_grad_cases()
    hint = checks.match_mistake(zero_init_bias_grad, _BIAS_GRAD_MISTAKES, cases)
    checks.check_function(exercise, zero_init_bias_grad, cases, atol=1e-6, hint=hint or
                          "all logits are 0, so softmax = 0.1 for every class; average softmax − one-hot over the batch.",
                          success="only the output bias moves, and its gradient is 0.1 − (class frequency), as autograd says.")


def _he_layer_problem(layer: Any, want: float) -> tuple[str, str] | None:
    """``(problem, hint)`` for a layer that is not He-initialised nn.Linear(256, 128) with zero biases, else None."""
    if not isinstance(layer, nn.Linear):
        return f"expected an nn.Linear layer, got {type(layer).__name__}.", "create it with nn.Linear(256, 128)."
    if tuple(layer.weight.shape) != (128, 256):
        return (
            f"the weight has shape {tuple(layer.weight.shape)}, not (128, 256).",
            "nn.Linear(in_features, out_features) stores its weight as (out, in): use nn.Linear(256, 128).",
        )
    w = layer.weight.detach()
    std, mean = w.std().item(), w.mean().item()
    if layer.bias is None or layer.bias.detach().abs().max().item() != 0:
        return "the biases are not all zero.", "set them with nn.init.zeros_(layer.bias)."
    if abs(mean) > 0.01:
        return f"the weights have mean {mean:.4f}; He init is centred on 0.", "use a zero-mean normal distribution."
    if abs(std - want) <= 0.05 * want:
        return None
    text = f"the weight std is {std:.4f}, but He init for fan_in = 256 gives {want:.4f}."

    def std_is(value: float) -> Callable[[float], bool]:  # within 5 % of value, as before
        return lambda s: abs(s - value) <= 0.05 * value

    return checks.first_mistake(std, [
        (std_is(math.sqrt(2 / 128)), text, "you used fan_out (128): keep mode='fan_in' (the default) for the forward pass."),
        (std_is(1 / math.sqrt(3 * 256)), text, "these are PyTorch's default weights: you still have to re-initialise them."),
        (std_is(math.sqrt(2 / 384)), text, "that is Xavier init; He uses nn.init.kaiming_normal_(w, nonlinearity='relu')."),
        (std_is(1 / math.sqrt(256)), text, "the ReLU gain sqrt(2) is missing: pass nonlinearity='relu'."),
    ]) or (text, "use nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu').")


def check_3(he_layer: Any) -> None:
    """Exercise 07.3: an nn.Linear(256, 128) with He-normal weights (ReLU, fan_in) and zero biases."""
    exercise = "07.3"
    want = math.sqrt(2 / 256)
    if checks.unanswered(exercise, he_layer):
        return
    found = _he_layer_problem(he_layer, want)
    checks.verdict(exercise, found, f"weight std ≈ {want:.4f} = sqrt(2/256), biases zero.")


CANDIDATE_GAINS = (1.0, 1.2, 1.4, 5 / 3, 2.0, 3.0)


def _gain_table() -> dict[float, tuple[float, float, float]]:
    """gain -> (layer-1 std, layer-30 std, share of saturated layer-30 units) of the 30-layer tanh stack."""
    from course_utils.topics import initialization

    table = {}
    for gain in CANDIDATE_GAINS:
        stats = initialization.stack_stats(30, 256, "tanh", "normal", std=gain / math.sqrt(256))
        table[gain] = (stats.activation_std[0], stats.activation_std[-1], stats.saturated[-1])
    return table


def _passes(row: tuple[float, float, float]) -> bool:
    first, last, saturated = row
    return last >= 0.8 * first and saturated <= 0.05


def check_4(best_gain: Any) -> None:
    """Exercise 07.4: the tanh gain whose 30-layer stack keeps its std (≥ 80 % of layer 1) without saturating (≤ 5 %)."""
    exercise = "07.4"
    if checks.unanswered(exercise, best_gain):
        return
    value = checks.as_number(best_gain)
    table = _gain_table()
    good = [g for g, row in table.items() if _passes(row)]
    expected = good[0]
    found = next((g for g in CANDIDATE_GAINS if isinstance(value, int | float) and abs(value - g) < 1e-3), None)
    if found is None:
        checks.failed(exercise, f"best_gain should be one of the candidates {', '.join(f'{g:.3g}' for g in CANDIDATE_GAINS)}; "
                      f"got {best_gain!r}.", "build the stack for each candidate and test the two conditions.")
        return
    first, last, saturated = table[found]
    if abs(found - expected) < 1e-9:
        checks.passed(exercise, f"gain {found:.3g}: layer-30 std {last:.3f} = {last / first:.0%} of layer 1, "
                      f"{saturated:.1%} of the units saturated.")
        return
    if last < 0.8 * first:
        hint = (f"with gain {found:.3g} the std falls from {first:.3f} to {last:.3f} ({last / first:.0%}): tanh "
                "shrinks the signal more than this gain gives back.")
    else:
        hint = (f"with gain {found:.3g} the std is flat, but {saturated:.1%} of the layer-30 units sit at ±1 "
                "(saturated, with almost no gradient): a smaller gain is enough.")
    checks.failed(exercise, f"gain {found:.3g} does not meet both conditions.", hint)
