"""Checks for notebook 05 (backprop).

Each check builds its own small, seeded problem (without touching the global
random state), computes the right answer, and for a wrong answer compares with
the typical mistakes: a forgotten inner derivative, a transposed weight gradient,
a mean where a sum belongs, a missing ``zero_grad``, an update outside
``torch.no_grad()`` or one that only rebinds a loop variable.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils import checks


def _report(exercise: str, status: str, message: str, hint: str | None = None) -> None:
    checks.report(checks.Result(exercise, status, message, hint))


def _close(a: Any, b: torch.Tensor, atol: float = 1e-6) -> bool:
    return (
        isinstance(a, torch.Tensor)
        and a.shape == b.shape
        and bool(torch.allclose(a.detach().double(), b.detach().double(), atol=atol, rtol=1e-5))
    )


def _seeded_linear(in_features: int, out_features: int, generator: torch.Generator) -> nn.Linear:
    """An nn.Linear with weights from ``generator``; the global random state is left alone."""
    with torch.random.fork_rng(devices=[]):
        layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.5)
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.5)
    return layer


# --------------------------------------------------------------------------- 05.1 the chain rule by hand

_CHAIN_RULE_HINTS = {
    14: "you multiplied by 2(3w + 1) but forgot the inner derivative: d(3w + 1)/dw = 3.",
    21: "the outer derivative of (·)² is 2·(·): you forgot the factor 2.",
    49: "that is L itself, (3·2 + 1)² = 49; the question asks for its derivative.",
    7: "that is the inside, 3w + 1; differentiate the square around it too.",
    6: "2 · 3 drops the value of the inside: the outer derivative is 2(3w + 1), evaluated at w = 2.",
    -42: "the sign is wrong: every factor here is positive.",
}


def check_1(dL_dw_at_2: Any) -> None:
    """Exercise 05.1: dL/dw of L = (3w + 1)² at w = 2, i.e. 2·(3·2 + 1)·3 = 42."""
    hint = None
    if isinstance(dL_dw_at_2, int | float) and not isinstance(dL_dw_at_2, bool):
        hint = next((text for value, text in _CHAIN_RULE_HINTS.items() if abs(dL_dw_at_2 - value) < 1e-9), None)
    checks.check_value("05.1", dL_dw_at_2, 42, tol=1e-9,
                       hint=hint or "outer derivative times inner derivative: 2(3w + 1) · 3, at w = 2.",
                       success="42 = 2·(3·2 + 1)·3: outer derivative times inner derivative.")


# --------------------------------------------------------------------------- 05.2 backward of nn.Linear

_SHAPES_HINT = ("check the shapes: X is (B, in), W is (out, in), G is (B, out); dX must be (B, in), "
                "dW (out, in) and db (out,).")


def _linear_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(52)
    X = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    W = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    G = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    return X, W, G


def check_2(linear_backward: Any) -> None:
    """Exercise 05.2: (dX, dW, db) of Y = X Wᵀ + b given G = dL/dY."""
    exercise = "05.2"
    if checks.is_placeholder(linear_backward):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if not callable(linear_backward):
        return _report(exercise, checks.FAILED, f"expected a function, got {type(linear_backward).__name__}.")
    X, W, G = _linear_case()
    try:
        result = linear_backward(X.clone(), W.clone(), G.clone())
    except NotImplementedError:
        return _report(exercise, checks.NOT_DONE, "your function still raises NotImplementedError: write its body.")
    except Exception as error:
        return _report(exercise, checks.FAILED, f"your function raised {type(error).__name__}: {error}", _SHAPES_HINT)
    if result is None or result is Ellipsis:
        return _report(exercise, checks.NOT_DONE, "your function returns nothing yet: `return dX, dW, db`.")
    if not isinstance(result, tuple | list) or len(result) != 3:
        return _report(exercise, checks.FAILED, "the function should return three tensors.",
                       "return them as a tuple: `return dX, dW, db`.")
    dX, dW, db = result
    expected = {"dX": G @ W, "dW": G.T @ X, "db": G.sum(dim=0)}
    specific = {
        "dX": [(lambda v: _close(v, G @ W * len(X)) or _close(v, G @ W / len(X)),
                "dX = G @ W, with no extra factor of the batch size.")],
        "dW": [(lambda v: _close(v, X.T @ G), "X.T @ G is the transpose, (in, out): nn.Linear stores W as (out, in), "
                                              "so dW = G.T @ X."),
               (lambda v: _close(v, G.T @ X / len(X)),
                "no 1/B here: the mean of the loss is already inside G, so dW = G.T @ X.")],
        "db": [(lambda v: _close(v, G.mean(dim=0)),
                "the bias is added to every row of the batch, so its gradient is the SUM over the batch, "
                "G.sum(dim=0) (the 1/B of a mean loss is already inside G)."),
               (lambda v: _close(v, G.sum(dim=1)), "sum over the batch (dim=0), not over the outputs (dim=1)."),
               (lambda v: _close(v, G), "db has the bias's shape (out,): sum G over the batch dimension.")],
    }
    for (name, got), want in zip({"dX": dX, "dW": dW, "db": db}.items(), expected.values(), strict=True):
        if _close(got, want, atol=1e-9):
            continue
        hint = next((text for test, text in specific[name] if test(got)), None)
        found = checks.diagnose_tensor(got, want, atol=1e-9)
        problem = f"{name}: " + (found[0] if found else "the values differ.")
        return _report(exercise, checks.FAILED, problem,
                       hint or (found[1] if found and found[1] else None) or _SHAPES_HINT)
    _report(exercise, checks.PASSED, "dX = G W, dW = Gᵀ X, db = Σ over the batch of G: each the shape of its tensor.")


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


def check_3(accumulate_gradients: Any) -> None:
    """Exercise 05.3: accumulate micro-batch gradients so that .grad equals the full-batch gradient."""
    exercise = "05.3"
    if checks.is_placeholder(accumulate_gradients):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if not callable(accumulate_gradients):
        return _report(exercise, checks.FAILED, f"expected a function, got {type(accumulate_gradients).__name__}.")
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
        return _report(exercise, checks.NOT_DONE, "your function still raises NotImplementedError: write its body.")
    except Exception as error:
        return _report(exercise, checks.FAILED, f"your function raised {type(error).__name__}: {error}",
                       "loop over the (X, y) pairs: loss = loss_fn(model(X), y) / number of micro-batches, "
                       "then loss.backward().")
    params = list(model.parameters())
    if any(not torch.equal(p.detach(), w) for p, w in zip(params, weights_before, strict=True)):
        return _report(exercise, checks.FAILED, "the weights changed.",
                       "only accumulate gradients here: no optimizer step and no weight update.")
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        return _report(exercise, checks.FAILED, "some parameters have no gradient after your function.",
                       "call backward() on each micro-batch loss, after (not before) the last zero_grad().")

    def all_close(targets: list[torch.Tensor]) -> bool:
        return all(_close(g, t) for g, t in zip(grads, targets, strict=True))

    if all_close(reference):
        return _report(exercise, checks.PASSED, "the accumulated gradients equal the full-batch gradient.")
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
    hint = next((text for targets, text in mistakes if all_close(targets)), None)
    _report(exercise, checks.FAILED, "the gradients in .grad differ from the full-batch gradient.",
            hint or f"zero the gradients once, then for each micro-batch: (loss_fn(model(X), y) / {k}).backward().")


# --------------------------------------------------------------------------- 05.4 a manual SGD step


def _sgd_problem() -> nn.Sequential:
    gen = torch.Generator().manual_seed(54)
    model = nn.Sequential(_seeded_linear(4, 3, gen), nn.ReLU(), _seeded_linear(3, 2, gen))
    X = torch.randn(6, 4, generator=gen)
    y = torch.randint(0, 2, (6,), generator=gen)
    nn.functional.cross_entropy(model(X), y).backward()
    return model


def check_4(sgd_step: Any) -> None:
    """Exercise 05.4: p ← p − lr·p.grad, in place, for every parameter."""
    exercise = "05.4"
    lr = 0.1
    if checks.is_placeholder(sgd_step):
        return _report(exercise, checks.NOT_DONE, checks.NOT_DONE_MESSAGE)
    if not callable(sgd_step):
        return _report(exercise, checks.FAILED, f"expected a function, got {type(sgd_step).__name__}.")
    model = _sgd_problem()
    before = [p.detach().clone() for p in model.parameters()]
    grads = [p.grad.clone() for p in model.parameters()]
    try:
        sgd_step(model, lr)
    except NotImplementedError:
        return _report(exercise, checks.NOT_DONE, "your function still raises NotImplementedError: write its body.")
    except RuntimeError as error:
        hint = None
        if "leaf" in str(error) or "requires grad" in str(error):
            hint = "PyTorch refuses in-place changes of parameters while it records a graph: do the update inside " \
                   "`with torch.no_grad():`."
        return _report(exercise, checks.FAILED, f"your function raised RuntimeError: {error}",
                       hint or "update each parameter in place: p -= lr * p.grad, inside torch.no_grad().")
    except Exception as error:
        return _report(exercise, checks.FAILED, f"your function raised {type(error).__name__}: {error}",
                       "loop over model.parameters() and update each one in place: p -= lr * p.grad.")
    after = [p.detach() for p in model.parameters()]
    expected = [b - lr * g for b, g in zip(before, grads, strict=True)]

    def matches(targets: list[torch.Tensor]) -> list[bool]:
        return [_close(a, t) for a, t in zip(after, targets, strict=True)]

    if all(matches(expected)):
        if not all(p.requires_grad for p in model.parameters()):
            return _report(exercise, checks.FAILED, "the values are right, but some parameters no longer require grad.",
                           "keep the parameters trainable: update them in place under torch.no_grad().")
        return _report(exercise, checks.PASSED, "every parameter moved by −lr·grad, in place, like optimizer.step().")
    if all(matches(before)):
        return _report(exercise, checks.FAILED, "the model's parameters did not change.",
                       "`p = p - lr * p.grad` only rebinds the loop variable to a new tensor: update in place, "
                       "`p -= lr * p.grad` (or p.sub_(lr * p.grad)), inside torch.no_grad().")
    if all(matches([b + lr * g for b, g in zip(before, grads, strict=True)])):
        return _report(exercise, checks.FAILED, "the parameters moved uphill.",
                       "step against the gradient: subtract lr * grad.")
    if all(matches([b - g for b, g in zip(before, grads, strict=True)])):
        return _report(exercise, checks.FAILED, "the step is too large.", "multiply the gradient by the learning rate.")
    updated = matches(expected)
    if any(updated):
        names = [name for (name, _), ok in zip(model.named_parameters(), updated, strict=True) if not ok]
        return _report(exercise, checks.FAILED, f"these parameters were not updated correctly: {', '.join(names)}.",
                       "update every parameter, weights and biases: loop over model.parameters().")
    _report(exercise, checks.FAILED, "the parameters changed, but not by −lr·grad.",
            "for each p in model.parameters(): p -= lr * p.grad (inside torch.no_grad()).")
