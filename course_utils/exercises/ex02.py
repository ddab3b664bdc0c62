"""Checks for notebook 02 (layers).

Each check computes the right answer itself, recognises the typical wrong answers
(the weight's rows and columns mixed up, a missing bias, in/out features swapped, a count without biases, a bias that still
approves pairs of conditions...) and names the mistake in its hint.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils import checks
from course_utils.topics.layers import loan_scores

LOAN_WEIGHTS = (0.8, 0.6, 0.9)


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def first_size_mismatch(model: nn.Module) -> str | None:
    """Describe the first pair of consecutive ``nn.Linear`` layers whose sizes do not chain, or None."""
    layers = _linears(model)
    for i, (a, b) in enumerate(zip(layers, layers[1:], strict=False)):
        if a.out_features != b.in_features:
            return (f"Linear layer {i} gives {a.out_features} features, but Linear layer {i + 1} expects "
                    f"in_features={b.in_features}")
    return None


# --------------------------------------------------------------------------- 02.1


def check_1(y_predicted: Any, layer: nn.Linear, x: torch.Tensor) -> None:
    """Exercise 02.1: predict ``layer(x)`` by hand, from the printed weight and bias, before running it."""
    ex = "02.1"
    if not isinstance(layer, nn.Linear) or not isinstance(x, torch.Tensor) or x.shape != (1, layer.in_features):
        raise ValueError("check_1 needs the notebook's `hand_layer` and `x_one` (one row). Re-run the cell "
                         "that defines them.")
    if checks.is_placeholder(y_predicted) or (
            isinstance(y_predicted, list | tuple) and any(v is Ellipsis for v in y_predicted)):
        checks.not_done(ex)
        return
    try:
        answer = torch.as_tensor(y_predicted, dtype=torch.float64).detach().reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        checks.failed(ex, f"expected {layer.out_features} numbers, got {y_predicted!r}.",
                      "write them as a list, e.g. [1.5, -2.0].")
        return
    with torch.no_grad():
        W, b, row = layer.weight.double(), layer.bias.double(), x.double()[0]
        expected = row @ W.T + b
        mistakes = [
            (row @ W.T, "these are the weighted sums without the bias.",
             "every output neuron adds its own bias b_j at the end."),
            (row @ W.T - b, "the bias was subtracted.", "the layer computes x @ W.T + b: add the bias."),
        ]
        if W.shape[0] == W.shape[1]:
            mistakes.insert(0, (row @ W + b, "you multiplied x by the columns of W, not by its rows.",
                                "weight has one ROW per output neuron: output j is row j of W times x, plus b_j "
                                "(that is why the layer uses W.T)."))
    if answer.numel() != expected.numel():
        checks.failed(ex, f"{answer.numel()} numbers, but the layer gives {expected.numel()} per row.",
                      f"nn.Linear({layer.in_features}, {layer.out_features}) turns one row into "
                      f"{layer.out_features} numbers: one per output neuron.")
        return
    found = checks.first_mistake(answer, mistakes)
    if found:
        checks.failed(ex, *found)
        return
    if checks.close(answer, expected):
        shown = ", ".join(f"{v:g}" for v in expected.tolist())
        checks.passed(ex, f"layer(x_one) is [{shown}]: row j of the weight times x, plus b_j.")
        return
    checks.failed(ex, "these numbers are not what the layer computes.",
                  "output j = sum over i of x_i · W[j, i], plus b[j]: write out both sums.")


# --------------------------------------------------------------------------- 02.2


def check_2(model: Any) -> None:
    """Exercise 02.2: 8 input features -> 4 hidden units -> ReLU -> 1 output."""
    ex = "02.2"
    if checks.is_placeholder(model):
        checks.not_done(ex)
        return
    if not isinstance(model, nn.Module):
        checks.failed(ex, f"expected an nn.Module (for example nn.Sequential(...)), got a "
                      f"{type(model).__name__}.", "build it with nn.Sequential(layer, activation, layer).")
        return
    sizes = [(m.in_features, m.out_features) for m in _linears(model)]
    if sizes == [(4, 8), (1, 4)]:
        checks.failed(ex, f"the Linear layers are {sizes} as (in, out).",
                      "in_features and out_features are swapped: nn.Linear(in_features, out_features), "
              "so the first layer is nn.Linear(8, 4).")
        return
    if len(sizes) != 2:
        checks.failed(ex, f"found {len(sizes)} Linear layers; the network needs exactly two.",
                      "one hidden layer (8 -> 4) and one output layer (4 -> 1).")
        return
    if sizes[0][0] != 8:
        checks.failed(ex, f"the first layer takes {sizes[0][0]} features.",
                      "each row of the data has 8 features, so the first layer needs in_features=8.")
        return
    if sizes[1][1] != 1:
        checks.failed(ex, f"the output layer gives {sizes[1][1]} numbers per row.",
                      "one output per row: the last layer needs out_features=1.")
        return
    if sizes[0][1] != 4:
        checks.failed(ex, f"the hidden layer has {sizes[0][1]} units instead of 4.",
                      "the hidden layer is nn.Linear(8, 4).")
        return
    mismatch = first_size_mismatch(model)
    if mismatch:
        checks.failed(ex, mismatch + ".", "out_features of one layer must equal in_features of the next.")
        return
    if not any(isinstance(m, nn.ReLU) for m in model.modules()):
        checks.failed(ex, "there is no nn.ReLU in the network.",
                      "put nn.ReLU() between the two Linear layers (notebook 03 shows why it matters).")
        return
    try:
        with torch.no_grad():
            out = model(torch.zeros(5, 8))
    except Exception as error:
        checks.failed(ex, f"the model raised {type(error).__name__} on a (5, 8) batch: {error}",
                      "list the modules in the order data flows through them: Linear, ReLU, Linear.")
        return
    if tuple(out.shape) != (5, 1):
        checks.failed(ex, f"a (5, 8) batch gives shape {tuple(out.shape)}.",
                      "the output should have one column per row of input.")
        return
    checks.passed(ex, "8 -> 4 -> ReLU -> 1, and a (5, 8) batch gives (5, 1).")


# --------------------------------------------------------------------------- 02.3

COUNT_CASES = (([8, 4, 2], 46), ([784, 10], 7_850), ([784, 128, 10], 101_770), ([784, 1024, 1024, 10], 1_863_690))


def parameter_count(sizes: list[int]) -> int:
    """in·out + out for each consecutive pair of layer sizes (weights plus biases)."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def check_3(count_parameters: Any) -> None:
    """Exercise 02.3: ``count_parameters(sizes)`` by the formula."""
    ex = "02.3"
    if callable(count_parameters):
        try:
            got = count_parameters([8, 4, 2])
        except Exception:  # check_function reports errors and NotImplementedError itself
            got = None
        pairs = [(8, 4), (4, 2)]
        found = None if got == 46 else checks.first_mistake(got, [
            (sum(a * b for a, b in pairs), "you counted only the weights.",
             "each output neuron also has a bias: add out_features per layer."),
            (sum(a * b + a for a, b in pairs), "you added in_features biases per layer.",
             "there is one bias per OUTPUT neuron: in·out + out."),
            (8 * 4 + 4, "you counted only the first layer.", "loop over every consecutive pair: zip(sizes, sizes[1:])."),
            (sum((a + 1) * (b + 1) for a, b in pairs), "your count is too large.",
             "the formula per layer is in·out + out = out·(in + 1)."),
            (sum(a * b + b for a, b in pairs[1:]), "you skipped the first layer.",
             "zip(sizes, sizes[1:]) gives all pairs, starting with (8, 4)."),
        ], atol=0)
        if isinstance(got, int) and found:
            checks.failed(ex, f"count_parameters([8, 4, 2]) returned {got}, not 46: {found[0]}", found[1])
            return
    checks.check_function(ex, count_parameters, [((list(s),), n) for s, n in COUNT_CASES],
                          hint="per layer: in_features * out_features weights + out_features biases; then sum.",
                          success="46, 7,850, 101,770 and 1,863,690: all four counts are right.")


# --------------------------------------------------------------------------- 02.4


def loan_decisions(bias: float, weights: tuple[float, ...] = LOAN_WEIGHTS) -> list[tuple[int, ...]]:
    """The applicants (0/1 rows) a step perceptron approves: z = w·x + b > 0."""
    X, _, approved = loan_scores(weights, bias)
    return [tuple(int(v) for v in row) for row, ok in zip(X.tolist(), approved.tolist(), strict=True) if ok]


def check_4(bias: Any) -> None:
    """Exercise 02.4: a bias so that only applicants meeting all three conditions are approved."""
    ex = "02.4"
    if checks.is_placeholder(bias):
        checks.not_done(ex)
        return
    if isinstance(bias, torch.Tensor) and bias.numel() == 1:
        bias = bias.item()
    if isinstance(bias, bool) or not isinstance(bias, int | float):
        checks.failed(ex, f"expected a number, got {type(bias).__name__}.", "set bias to a number like -1.0.")
        return
    approved = loan_decisions(bias)
    pair_max, total = max(LOAN_WEIGHTS[0] + LOAN_WEIGHTS[1], LOAN_WEIGHTS[0] + LOAN_WEIGHTS[2],
                          LOAN_WEIGHTS[1] + LOAN_WEIGHTS[2]), sum(LOAN_WEIGHTS)
    if approved == [(1, 1, 1)]:
        if abs(bias + pair_max) < 1e-6 or abs(bias + total) < 1e-6:
            checks.failed(ex, f"bias {bias} sits exactly on the boundary (z = 0 for some applicant).",
                          "rounding decides that case: pick a value safely inside, away from the edges.")
            return
        checks.passed(ex, f"with bias {bias} only (1, 1, 1) gives z > 0.")
        return
    if not approved:
        checks.failed(ex, f"with bias {bias} nobody is approved.",
                      f"even all three conditions give z = {total:.1f} + bias ≤ 0: the bias must be above -{total:.1f}.")
        return
    pairs = [a for a in approved if sum(a) < 3]
    shown = ", ".join(str(a) for a in pairs[:3])
    checks.failed(ex, f"with bias {bias} these applicants are approved too: {shown}.",
                  f"the strongest pair of conditions gives w·x = {pair_max:.1f}; make the bias more negative than "
                  f"-{pair_max:.1f} (but above -{total:.1f}).")


# --------------------------------------------------------------------------- 02.5


def check_5(fixed_model: Any) -> None:
    """Exercise 02.5: repair Linear(92, 4) -> Linear(4, 69) -> Linear(269, 1) by changing one number."""
    ex = "02.5"
    if checks.is_placeholder(fixed_model):
        checks.not_done(ex)
        return
    if not isinstance(fixed_model, nn.Module):
        checks.failed(ex, f"expected an nn.Module, got a {type(fixed_model).__name__}.",
                      "write the corrected nn.Sequential(...).")
        return
    layers = _linears(fixed_model)
    if not layers or layers[0].in_features != 92:
        got = layers[0].in_features if layers else "no Linear layer"
        checks.failed(ex, f"the first layer takes {got} features.",
                      "the data has 92 features per row: keep nn.Linear(92, 4) as the first layer.")
        return
    mismatch = first_size_mismatch(fixed_model)
    if mismatch:
        checks.failed(ex, mismatch + ", so the forward pass still fails.",
                      "one layer's out_features must equal the next layer's in_features (here 69 -> 69).")
        return
    with torch.no_grad():
        out = fixed_model(torch.zeros(3, 92))
    if tuple(out.shape) != (3, 1):
        checks.failed(ex, f"a (3, 92) batch gives shape {tuple(out.shape)}.",
                      "the model should still predict one number per row: keep out_features=1 at the end.")
        return
    sizes = [(m.in_features, m.out_features) for m in layers]
    if sizes not in ([(92, 4), (4, 69), (69, 1)], [(92, 4), (4, 269), (269, 1)]):
        checks.failed(ex, f"it runs, but the layers are now {sizes}.",
                      "change just one number of the original model: the 269 or the 69.")
        return
    checks.passed(ex, f"{sizes} chains, and a (3, 92) batch gives (3, 1).")
