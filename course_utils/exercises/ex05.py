"""Checks for notebook 05 (backprop).

Each check builds its own small, seeded problem (without touching the global
random state), computes the right answer, and for a wrong answer compares with
the typical mistakes: a forgotten inner derivative, a transposed weight gradient,
a mean where a sum belongs, a missing ``zero_grad``, a gradient that overwrites
instead of adding (a fork), or the two inputs of a product swapped.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils import checks
from course_utils.topics.backprop import Value


def _seeded_linear(in_features: int, out_features: int, generator: torch.Generator) -> nn.Linear:
    """An nn.Linear with weights from ``generator``; the global random state is left alone."""
    with torch.random.fork_rng(devices=[]):
        layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.5)
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.5)
    return layer


# --------------------------------------------------------------------------- 05.1 the chain rule by hand

_CHAIN_RULE_MISTAKES = [
    (14, "14 is not dL/dw.", "you multiplied by 2(3w + 1) but forgot the inner derivative: d(3w + 1)/dw = 3."),
    (21, "21 is not dL/dw.", "the outer derivative of (·)² is 2·(·): you forgot the factor 2."),
    (49, "49 is L itself, (3·2 + 1)².", "the question asks for its derivative."),
    (7, "7 is the inside, 3w + 1.", "differentiate the square around it too."),
    (6, "6 is not dL/dw.", "2 · 3 drops the value of the inside: the outer derivative is 2(3w + 1), evaluated at w = 2."),
    (-42, "-42 has the wrong sign.", "every factor here is positive."),
]


def check_1(dL_dw_at_2: Any) -> None:
    """Exercise 05.1: dL/dw of L = (3w + 1)² at w = 2, i.e. 2·(3·2 + 1)·3 = 42."""
    found = None if checks.is_placeholder(dL_dw_at_2) else checks.first_mistake(dL_dw_at_2, _CHAIN_RULE_MISTAKES,
                                                                                atol=1e-9)
    if found:
        return checks.failed("05.1", *found)
    checks.check_value("05.1", dL_dw_at_2, 42, tol=1e-9,
                       hint="outer derivative times inner derivative: 2(3w + 1) · 3, at w = 2.",
                       success="42 = 2·(3·2 + 1)·3: outer derivative times inner derivative.")


# --------------------------------------------------------------------------- 05.2 backward of nn.Linear, any batch shape

_SHAPES_HINT = ("check the shapes: X is (..., in), W is (out, in), G is (..., out); dX must have X's shape, "
                "dW (out, in) and db (out,).")
_SHARED_HINT = ("W and b are shared by every position of every sequence: a fork, so their gradients are the SUM "
                "over all leading dimensions. Flatten them first: G2 = G.reshape(-1, G.shape[-1]), "
                "X2 = X.reshape(-1, X.shape[-1]), then dW = G2.T @ X2 and db = G2.sum(dim=0).")


def _linear_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(description, X, W, G): a (B, in) batch and a (B, T, in) batch of sequences."""
    gen = torch.Generator().manual_seed(52)
    X = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    W = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    G = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    X3 = torch.randn(2, 6, 4, generator=gen, dtype=torch.float64)
    G3 = torch.randn(2, 6, 3, generator=gen, dtype=torch.float64)
    return [("X of shape (5, 4)", X, W, G), ("X of shape (2, 6, 4), a batch of sequences", X3, W, G3)]


def _linear_reference(X: torch.Tensor, W: torch.Tensor, G: torch.Tensor) -> dict[str, torch.Tensor]:
    """(dX, dW, db) from autograd: backward of F.linear with G as the gradient arriving from above."""
    X, W = X.clone().requires_grad_(True), W.clone().requires_grad_(True)
    b = torch.zeros(W.shape[0], dtype=W.dtype, requires_grad=True)
    torch.nn.functional.linear(X, W, b).backward(G)
    return {"dX": X.grad, "dW": W.grad, "db": b.grad}


def check_2(linear_backward: Any) -> None:
    """Exercise 05.2: (dX, dW, db) of Y = X Wᵀ + b given G = dL/dY, for X of shape (B, in) or (B, T, in)."""
    exercise = "05.2"
    if checks.unanswered(exercise, linear_backward, expect="function"):
        return
    for number, (text, X, W, G) in enumerate(_linear_cases()):
        sequences = number == 1
        try:
            result = linear_backward(X.clone(), W.clone(), G.clone())
        except NotImplementedError:
            return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
        except Exception as error:
            return checks.failed(exercise, f"for {text} your function raised {type(error).__name__}: {error}",
                                 _SHARED_HINT if sequences else _SHAPES_HINT)
        if result is None or result is Ellipsis:
            return checks.not_done(exercise, "your function returns nothing yet: `return dX, dW, db`.")
        if not isinstance(result, tuple | list) or len(result) != 3:
            return checks.failed(exercise, "the function should return three tensors.",
                                 "return them as a tuple: `return dX, dW, db`.")
        expected = _linear_reference(X, W, G)
        G2, X2 = G.reshape(-1, G.shape[-1]), X.reshape(-1, X.shape[-1])
        B = len(X2)
        specific = {
            "dX": [(lambda v, g=G @ W, n=B: checks.close(v, g * n) or checks.close(v, g / n),
                    "dX = G @ W, with no extra factor of the batch size.")],
            "dW": [(X2.T @ G2, "that is the transpose, (in, out): nn.Linear stores W as (out, in), so dW = Gᵀ X."),
                   (G2.T @ X2 / B, "no 1/B here: the mean of the loss is already inside G, so dW = Gᵀ X.")]
                  + ([(G.transpose(-1, -2) @ X, "dW has one (out, in) matrix per sequence: " + _SHARED_HINT),
                      (G[-1].transpose(0, 1) @ X[-1], "only the last sequence counts: " + _SHARED_HINT)]
                     if sequences else []),
            "db": ([(G.sum(dim=0), "db still has a time dimension: " + _SHARED_HINT)] if sequences else [])
                  + [(G2.mean(dim=0), "the bias is added at every position, so its gradient is the SUM, not the "
                                    "mean (the 1/B of a mean loss is already inside G)."),
                   (G.sum(dim=-1), "sum over the batch dimensions, not over the outputs (the last dimension)."),
                   (G, "db has the bias's shape (out,): sum G over the batch dimensions.")],
        }
        got_all = dict(zip(("dX", "dW", "db"), result, strict=True))
        for name, want in expected.items():
            got = got_all[name]
            if checks.close(got, want, atol=1e-9):
                continue
            found = checks.diagnose_tensor(got, want, atol=1e-9)
            problem = f"{name}, for {text}: " + (found[0] if found else "the values differ.")
            mistake = checks.first_mistake(got, [(wrong, problem, hint) for wrong, hint in specific[name]])
            hint = mistake[1] if mistake else None
            fallback = _SHARED_HINT if sequences else _SHAPES_HINT
            return checks.failed(exercise, problem, hint or (found[1] if found and found[1] else None) or fallback)
    checks.passed(exercise, "dX = G W, dW = Gᵀ X and db = Σ G, summed over every position that shares the layer, "
                            "for a plain batch and for a batch of sequences alike.")


# --------------------------------------------------------------------------- 05.3 gradient accumulation

_MICRO_BATCHES = 4


def _accumulation_problem() -> tuple[nn.Linear, nn.Module, list[tuple[torch.Tensor, torch.Tensor]], list[torch.Tensor]]:
    """A model, a loss, 4 micro-batches of 2 examples, and the full-batch reference gradients."""
    gen = torch.Generator().manual_seed(53)
    model = _seeded_linear(6, 3, gen)
    X = torch.randn(8, 6, generator=gen)
    y = torch.randint(0, 3, (8,), generator=gen)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(X), y).backward()
    reference = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    size = len(X) // _MICRO_BATCHES
    micro = [(X[i:i + size], y[i:i + size]) for i in range(0, len(X), size)]
    return model, loss_fn, micro, reference


_UNEQUAL_SIZES = (3, 3, 2)


def _check_unequal(exercise: str, accumulate_gradients: Any) -> None:
    """Second half of 05.3: micro-batches of sizes 3, 3 and 2, where dividing by k is no longer exact."""
    model, loss_fn, equal, reference = _accumulation_problem()
    X = torch.cat([X_micro for X_micro, _ in equal])
    y = torch.cat([y_micro for _, y_micro in equal])
    bounds = [0, *torch.tensor(_UNEQUAL_SIZES).cumsum(0).tolist()]
    micro = [(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    for X_micro, y_micro in micro:  # the "divide by k" answer, for its hint
        (loss_fn(model(X_micro), y_micro) / len(micro)).backward()
    by_k = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    try:
        accumulate_gradients(model, loss_fn, list(micro))
    except Exception as error:
        return checks.failed(exercise, f"with micro-batches of sizes {_UNEQUAL_SIZES} your function raised "
                                       f"{type(error).__name__}: {error}",
                             "weigh each micro-batch's mean loss by its share of the examples, len(y) / total.")
    grads = [p.grad for p in model.parameters()]
    if any(g is None for g in grads):
        return checks.failed(exercise, f"with micro-batches of sizes {_UNEQUAL_SIZES} some parameters have no "
                                       "gradient.", "call backward() on each micro-batch loss.")
    if all(checks.close(g, r) for g, r in zip(grads, reference, strict=True)):
        return checks.passed(exercise, "the accumulated gradients equal the full-batch gradient, also for "
                                       f"micro-batches of sizes {_UNEQUAL_SIZES}: each mean loss weighed by "
                                       "len(y) / total.")
    problem = (f"right for equal micro-batches, but for sizes {_UNEQUAL_SIZES} the gradients differ from the "
               "full-batch gradient.")
    if all(checks.close(g, r) for g, r in zip(grads, by_k, strict=True)):
        return checks.failed(exercise, problem,
                             "dividing by the number of micro-batches is exact only for equal sizes: the small "
                             "batch's examples then count more. Weigh each mean loss by len(y) / total instead.")
    checks.failed(exercise, problem, "the full-batch mean is Σ over micro-batches of (len(y) / total) · their mean "
                                     "loss: weigh each loss by len(y) / total before backward().")


def check_3(accumulate_gradients: Any) -> None:
    """Exercise 05.3: accumulate micro-batch gradients so that .grad equals the full-batch gradient."""
    exercise = "05.3"
    if checks.unanswered(exercise, accumulate_gradients, expect="function"):
        return
    model, loss_fn, micro, reference = _accumulation_problem()
    k = len(micro)
    # the last micro-batch alone, for the "zero_grad inside the loop" mistake
    loss_fn(model(micro[-1][0]), micro[-1][1]).backward()
    last_only = [p.grad.clone() for p in model.parameters()]
    stale = [torch.full_like(p, 0.25) for p in model.parameters()]
    for p, s in zip(model.parameters(), stale, strict=True):
        p.grad = s.clone()  # gradients left over from an earlier step
    weights_before = [p.detach().clone() for p in model.parameters()]
    try:
        accumulate_gradients(model, loss_fn, list(micro))
    except NotImplementedError:
        return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
    except Exception as error:
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                       "loop over the (X, y) pairs: loss = loss_fn(model(X), y) / number of micro-batches, "
                       "then loss.backward().")
    params = list(model.parameters())
    if any(not torch.equal(p.detach(), w) for p, w in zip(params, weights_before, strict=True)):
        return checks.failed(exercise, "the weights changed.",
                       "only accumulate gradients here: no optimizer step and no weight update.")
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        return checks.failed(exercise, "some parameters have no gradient after your function.",
                       "call backward() on each micro-batch loss, after (not before) the last zero_grad().")

    def all_close(targets: list[torch.Tensor]) -> bool:
        return all(checks.close(g, t) for g, t in zip(grads, targets, strict=True))

    if all_close(reference):
        return _check_unequal(exercise, accumulate_gradients)
    mistakes = [
        ([r + s for r, s in zip(reference, stale, strict=True)],
         "old gradients were still in .grad and your backward passes added to them: call model.zero_grad() "
         "once, before the loop."),
        ([k * r for r in reference],
         f"the gradients are {k} times too large: divide each micro-batch loss by the number of micro-batches "
         f"({k}) before backward()."),
        ([k * r + s for r, s in zip(reference, stale, strict=True)],
         f"two things: call model.zero_grad() before the loop, and divide each micro-batch loss by {k}."),
        ([g / k for g in last_only],
         "only the last micro-batch is left: zero_grad() inside the loop wipes the earlier ones. Call it once, "
         "before the loop."),
        ([g for g in last_only],
         "only the last micro-batch is left (zero_grad() inside the loop?), and each loss must be divided by "
         f"{k}."),
        ([r / k for r in reference],
         f"the gradients are {k} times too small: divide each micro-batch loss by {k} once, not twice."),
    ]
    problem = "the gradients in .grad differ from the full-batch gradient."
    found = checks.first_mistake(grads, [(lambda _, t=targets: all_close(t), problem, hint)
                                         for targets, hint in mistakes])
    checks.failed(exercise, problem, found[1] if found else
                  f"zero the gradients once, then for each micro-batch: (loss_fn(model(X), y) / {k}).backward().")




# --------------------------------------------------------------------------- 05.4 the backward step of a product


def _mul_cases() -> list[tuple[str, tuple[Value, Value, Value]]]:
    """Two products, as (description, (a, b, out)) with out.grad set: one with a gradient already
    in a.grad (a is used elsewhere too), and x * x (one value on both sides)."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    a.grad = 0.1  # a also feeds another part of the graph, which already added its share
    out = Value(a.data * b.data, (a, b), "*")
    out.grad = 0.5
    x = Value(3.0, label="x")
    square = Value(x.data * x.data, (x, x), "*")
    square.grad = 1.0
    return [("out = a * b with out.grad = 0.5 and a.grad = 0.1 already", (a, b, out)),
            ("out = x * x at x = 3 with out.grad = 1", (x, x, square))]


def _grads(case: tuple[Value, Value, Value]) -> tuple[float, float]:
    a, b, _ = case
    return a.grad, b.grad


def check_4(mul_backward: Any) -> None:
    """Exercise 05.4: ``mul_backward(a, b, out)`` adds out.grad·b to a.grad and out.grad·a to b.grad."""
    exercise = "05.4"
    if checks.unanswered(exercise, mul_backward, expect="function"):
        return
    (first_text, first), (second_text, second) = _mul_cases()
    try:
        mul_backward(*first)
        mul_backward(*second)
    except NotImplementedError:
        return checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
    except Exception as error:
        return checks.failed(exercise, f"your function raised {type(error).__name__}: {error}",
                             "use the numbers a.data, b.data and out.grad, and add to a.grad and b.grad.")
    got = (_grads(first), second[0].grad)
    right = ((0.1 + -3.0 * 0.5, 2.0 * 0.5), 6.0)
    if all(checks.close(g, r, atol=1e-9) for g, r in zip(got[0], right[0], strict=True)) and checks.close(
            got[1], right[1], atol=1e-9):
        return checks.passed(exercise, "a.grad gains out.grad·b and b.grad gains out.grad·a; x * x gives 2x = 6.")
    if got == ((0.1, 0.0), 0.0):
        return checks.failed(exercise, "a.grad and b.grad did not change.",
                             "assign to the attributes: a.grad += ..., b.grad += ... (a local variable is lost).")
    problem = (f"after your step, case 1 ({first_text}) has a.grad = {got[0][0]:.4g}, b.grad = {got[0][1]:.4g} "
               f"(expected {right[0][0]:.4g} and {right[0][1]:.4g}); case 2 ({second_text}) has x.grad = "
               f"{got[1]:.4g} (expected 6).")
    mistakes = [
        (((-1.5, 1.0), 3.0), problem,
         "you overwrote the gradient (=) instead of adding to it (+=): a value used in several places, like a in "
         "case 1 or x in x * x, must collect the contribution of every use."),
        (((0.1 + 2.0 * 0.5, -3.0 * 0.5), 6.0), problem,
         "the local derivative of a·b with respect to a is b (not a): a.grad += b.data * out.grad."),
        (((0.1 - 3.0, 2.0), 6.0), problem, "multiply by out.grad: the chain rule needs the gradient from above."),
        (((0.1 - 3.0, 2.0), 3.0), problem, "two things: add (+=) instead of overwriting, and multiply by out.grad."),
    ]
    found = checks.first_mistake(got, [(lambda g, w=wrong: all(
        checks.close(x, y, atol=1e-9) for x, y in zip((*g[0], g[1]), (*w[0], w[1]), strict=True)), p, h)
        for wrong, p, h in mistakes])
    checks.failed(exercise, problem, found[1] if found else "a.grad += b.data * out.grad and "
                                                             "b.grad += a.data * out.grad.")
