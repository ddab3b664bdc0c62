"""Exercise checks of notebook 05: right answers pass, typical mistakes get a hint that names them,
placeholders are "not done yet"; the checks leave the global random state alone."""

import pytest
import torch

from course_utils.exercises import ex05


def out(capsys) -> str:
    return capsys.readouterr().out


def not_implemented(*args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 05.1


@pytest.mark.parametrize("answer", [42, 42.0, 2 * (3 * 2 + 1) * 3])
def test_chain_rule_right_answer_passes(capsys, answer):
    ex05.check_1(answer)
    assert "✅ Exercise 05.1 passed" in out(capsys)


@pytest.mark.parametrize(
    ("answer", "words"),
    [(14, "inner derivative"), (21, "factor 2"), (49, "L itself"), (-42, "sign"), (10, "outer derivative times"),
     ("42", "expected a number")],
)
def test_chain_rule_mistakes_are_named(capsys, answer, words):
    ex05.check_1(answer)
    text = out(capsys)
    assert "❌ Exercise 05.1 is not right yet" in text and words in text


def test_chain_rule_placeholder_is_not_done(capsys):
    ex05.check_1(...)
    assert "⏳ Exercise 05.1 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 05.2


def linear_backward(X, W, G):
    G2, X2 = G.reshape(-1, G.shape[-1]), X.reshape(-1, X.shape[-1])
    return G @ W, G2.T @ X2, G2.sum(dim=0)


def test_linear_backward_right_answer_passes(capsys):
    ex05.check_2(linear_backward)
    assert "✅ Exercise 05.2 passed" in out(capsys)


def test_linear_backward_einsum_answer_passes(capsys):
    ex05.check_2(lambda X, W, G: (G @ W, torch.einsum("...o,...i->oi", G, X), G.sum(dim=tuple(range(G.dim() - 1)))))
    assert "✅ Exercise 05.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda X, W, G: (G @ W, X.T @ G, G.sum(0)), "stores W as (out, in)"),
        (lambda X, W, G: (G @ W, G.T @ X / len(X), G.sum(0)), "no 1/B here"),
        (lambda X, W, G: (G @ W, G.T @ X, G.mean(0)), "not the mean"),
        (lambda X, W, G: (G @ W, G.T @ X, G.sum(1)), "not over the outputs"),
        (lambda X, W, G: (G @ W, G.T @ X, G), "bias's shape"),
        (lambda X, W, G: (G @ W / len(X), G.T @ X, G.sum(0)), "no extra factor"),
        (lambda X, W, G: (G @ W.T, G.T @ X, G.sum(0)), "check the shapes"),
        (lambda X, W, G: (G @ W, G.T @ X), "three tensors"),
        # right for (B, in), wrong for a batch of sequences
        (lambda X, W, G: (G @ W, G.transpose(-1, -2) @ X, G.reshape(-1, G.shape[-1]).sum(0)),
         "one (out, in) matrix per sequence"),
        (lambda X, W, G: (G @ W, G.reshape(-1, G.shape[-1]).T @ X.reshape(-1, X.shape[-1]), G.sum(0)),
         "still has a time dimension"),
        (lambda X, W, G: (G @ W, torch.mm(G.transpose(0, 1), X), G.sum(0)), "a batch of sequences"),
    ],
)
def test_linear_backward_mistakes_are_named(capsys, wrong, words):
    ex05.check_2(wrong)
    text = out(capsys)
    assert "❌ Exercise 05.2 is not right yet" in text and words in text


@pytest.mark.parametrize("placeholder", [..., not_implemented, lambda X, W, G: None])
def test_linear_backward_placeholder_is_not_done(capsys, placeholder):
    ex05.check_2(placeholder)
    assert "⏳ Exercise 05.2 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 05.3


def accumulate(model, loss_fn, micro):
    model.zero_grad()
    total = sum(len(y) for _, y in micro)
    for X, y in micro:
        (loss_fn(model(X), y) * len(y) / total).backward()


def divide_by_k(model, loss_fn, micro):
    model.zero_grad()
    for X, y in micro:
        (loss_fn(model(X), y) / len(micro)).backward()


def unscaled(model, loss_fn, micro):
    model.zero_grad()
    for X, y in micro:
        loss_fn(model(X), y).backward()


def no_zero_grad(model, loss_fn, micro):
    for X, y in micro:
        (loss_fn(model(X), y) / len(micro)).backward()


def neither(model, loss_fn, micro):
    for X, y in micro:
        loss_fn(model(X), y).backward()


def zero_inside(model, loss_fn, micro):
    for X, y in micro:
        model.zero_grad()
        (loss_fn(model(X), y) / len(micro)).backward()


def steps_too(model, loss_fn, micro):
    accumulate(model, loss_fn, micro)
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad


def zero_after(model, loss_fn, micro):
    accumulate(model, loss_fn, micro)
    model.zero_grad()


def test_accumulation_right_answer_passes(capsys):
    ex05.check_3(accumulate)
    assert "✅ Exercise 05.3 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (unscaled, "4 times too large"),
        (divide_by_k, "exact only for equal sizes"),
        (no_zero_grad, "old gradients"),
        (neither, "two things"),
        (zero_inside, "inside the loop"),
        (steps_too, "no optimizer step"),
        (zero_after, "no gradient"),
    ],
)
def test_accumulation_mistakes_are_named(capsys, wrong, words):
    ex05.check_3(wrong)
    text = out(capsys)
    assert "❌ Exercise 05.3 is not right yet" in text and words in text


@pytest.mark.parametrize("placeholder", [..., not_implemented])
def test_accumulation_placeholder_is_not_done(capsys, placeholder):
    ex05.check_3(placeholder)
    assert "⏳ Exercise 05.3 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 05.4


def mul_backward(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def overwrites(a, b, out):
    a.grad = b.data * out.grad
    b.grad = a.data * out.grad


def swapped(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad


def no_upstream(a, b, out):
    a.grad += b.data
    b.grad += a.data


def local_only(a, b, out):
    grad_a = b.data * out.grad  # noqa: F841  (the mistake under test: never stored)


def test_mul_backward_right_answer_passes(capsys):
    ex05.check_4(mul_backward)
    assert "✅ Exercise 05.4 passed" in out(capsys)


def test_mul_backward_engine_version_passes(capsys):
    from course_utils.topics import backprop

    ex05.check_4(backprop.mul_backward)
    assert "✅ Exercise 05.4 passed" in out(capsys)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (overwrites, "instead of adding to it (+=)"),
        (swapped, "a.grad += b.data * out.grad"),
        (no_upstream, "multiply by out.grad"),
        (local_only, "did not change"),
        (lambda a, b, out: a.nope, "raised AttributeError"),
        (42, "expected a function"),
    ],
)
def test_mul_backward_mistakes_are_named(capsys, wrong, words):
    ex05.check_4(wrong)
    text = out(capsys)
    assert "❌ Exercise 05.4 is not right yet" in text and words in text


@pytest.mark.parametrize("placeholder", [..., not_implemented])
def test_mul_backward_placeholder_is_not_done(capsys, placeholder):
    ex05.check_4(placeholder)
    assert "⏳ Exercise 05.4 is not done yet" in out(capsys)


def test_checks_leave_the_global_random_state_alone(capsys):
    state = torch.random.get_rng_state()
    ex05.check_2(linear_backward)
    ex05.check_3(accumulate)
    ex05.check_4(mul_backward)
    assert torch.equal(state, torch.random.get_rng_state())
