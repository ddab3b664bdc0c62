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
        return checks.failed(ex, *found)
    if checks.close(answer, expected):
        shown = ", ".join(f"{v:g}" for v in expected.tolist())
        checks.passed(ex, f"layer(x_one) is [{shown}]: row j of the weight times x, plus b_j.")
        return
    checks.failed(ex, "these numbers are not what the layer computes.",
                  "output j = sum over i of x_i · W[j, i], plus b[j]: write out both sums.")


# --------------------------------------------------------------------------- 02.2


def check_2(n_tensors: Any, keys: Any, mystery: nn.Module) -> None:
    """Exercise 02.2: predict how many parameter tensors ``mystery`` has and the keys of its ``state_dict()``."""
    ex = "02.2"
    if not isinstance(mystery, nn.Sequential):
        raise ValueError("check_2 needs the notebook's `mystery` network (an nn.Sequential). Re-run the cell that "
                         "defines it.")
    if checks.unanswered(ex, n_tensors, keys):
        return
    expected_n = len(list(mystery.parameters()))
    expected_keys = list(mystery.state_dict())
    linears = [m for m in mystery if isinstance(m, nn.Linear)]
    if isinstance(n_tensors, bool) or not isinstance(n_tensors, int):
        checks.failed(ex, f"n_tensors should be a whole number, got {n_tensors!r}.",
                      "count the tensors that parameters() yields: one weight and one bias per Linear layer.")
        return
    if n_tensors != expected_n:
        problem, hint = checks.first_mistake(n_tensors, [
            (len(mystery), f"{len(mystery)} is the number of modules.",
             "ReLU has no parameters, and each Linear layer has two tensors: a weight and a bias."),
            (len(linears), f"{len(linears)} is the number of Linear layers.",
             "each Linear layer holds two parameter tensors: its weight and its bias."),
        ], atol=0) or (f"{n_tensors} is not the number of parameter tensors.",
                       "parameters() yields one weight and one bias for every Linear layer, nothing for ReLU.")
        checks.failed(ex, problem, hint)
        return
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        checks.failed(ex, f"keys should be a list of strings, got {keys!r}.", 'write them like ["0.weight", ...].')
        return
    keys = list(keys)
    if keys == expected_keys:
        checks.passed(ex, f"{expected_n} tensors; the keys use each module's index in the Sequential, and the ReLUs "
                          "(no parameters) leave gaps: " + ", ".join(expected_keys) + ".")
        return
    consecutive = [f"{i}.{name}" for i in range(len(linears)) for name in ("weight", "bias")]
    if keys == consecutive:
        hint = "the ReLUs take an index in the Sequential too, so the Linear layers are 0, 2 and 4."
        problem = "the Linear layers are numbered 0, 1, 2."
    elif sorted(keys) == sorted(expected_keys):
        problem, hint = "the right keys, in another order.", "state_dict() lists each layer's weight, then its bias, layer by layer."
    elif all(k.endswith("weight") for k in keys):
        problem, hint = "only weights.", "every Linear layer also has a bias, with its own key."
    else:
        problem, hint = f"{keys} are not the keys.", "each key is '<index in the Sequential>.<weight or bias>'."
    checks.failed(ex, problem, hint)


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
    if checks.unanswered(ex, bias, expect="number", hint="set bias to a number like -1.0."):
        return
    bias = checks.as_number(bias)
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


def check_5(fixed_reader: Any) -> None:
    """Exercise 02.5: repair ``Sequential(Linear(64, 32), ReLU(), Linear(23, 10))`` so that it reads (N, 1, 8, 8) digits.

    Two things are wrong: the images are not flattened (a Linear layer acts on the last dimension, the 8 pixels of a
    row), and 32 features meet a layer that expects 23. The fixed reader gives (N, 10) scores for (N, 1, 8, 8) images.
    """
    ex = "02.5"
    if checks.unanswered(ex, fixed_reader):
        return
    if not isinstance(fixed_reader, nn.Module):
        checks.failed(ex, f"expected an nn.Module, got a {type(fixed_reader).__name__}.",
                      "write the corrected nn.Sequential(...).")
        return
    images = torch.zeros(5, 1, 8, 8)
    try:
        with torch.no_grad():
            scores = fixed_reader(images)
    except RuntimeError as error:
        message = str(error)
        if "40x8" in message or "8x8" in message or "5x8" in message:
            checks.failed(ex, f"the forward pass still fails ({message.split(chr(10))[0]}): the first Linear layer "
                              "gets rows of 8 numbers.",
                          "a Linear layer works on the last dimension, one row of 8 pixels here; put nn.Flatten() first "
                          "so that it gets all 64 pixels of an image.")
            return
        mismatch = first_size_mismatch(fixed_reader)
        checks.failed(ex, (mismatch or f"the forward pass fails: {message.splitlines()[0]}") + ".",
                      "each layer's out_features must equal the next layer's in_features (32 -> 32).")
        return
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (5, 10):
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        checks.failed(ex, f"5 images give {got}, not one row of 10 class scores per image (5, 10).",
                      "flatten each image to 64 numbers and keep 10 outputs at the end.")
        return
    checks.passed(ex, "nn.Flatten() turns (5, 1, 8, 8) into (5, 64), and 32 features now meet a layer that expects 32: "
                      "(5, 10) scores.")
