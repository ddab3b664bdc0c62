"""Checks of notebook 06: right answers pass, typical mistakes get a hint that names them, `...` is not done."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.exercises import ex06


def out(capsys) -> str:
    return capsys.readouterr().out


# ------------------------------------------------------------------ 06.1


def test_1_right(capsys):
    assert ex06.check_1(100, 40, False) is None  # a check prints; it returns nothing for the cell to show
    text = out(capsys)
    assert "✅ Exercise 06.1 passed" in text and "a different random set" in text


@pytest.mark.parametrize(
    "answer, hint",
    [((105, 40, False), "drop_last=True throws the partial last batch away"),
     ((104.1666, 40, False), "not a whole number"),
     ((20, 40, False), "multiply the batches per epoch"),
     ((99, 40, False), "iterations = (batches per epoch)"),
     (("many", 40, False), "iterations = (batches per epoch)"),
     ((100, 0, False), "some samples are left out of every epoch"),
     ((100, 8, False), "how many the last batch lacks"),
     ((100, 41, False), "left out = samples"),
     ((100, 40, True), "a different random set ends up in the partial batch"),
     ((100, 40, "no"), "should be True or False")],
)
def test_1_mistakes(capsys, answer, hint):
    ex06.check_1(*answer)
    text = out(capsys)
    assert "❌ Exercise 06.1 is not right yet" in text and hint in text


def test_1_not_done(capsys):
    ex06.check_1(..., ..., ...)
    assert "⏳ Exercise 06.1 is not done yet" in out(capsys)
    ex06.check_1(100, 40, ...)
    assert "⏳ Exercise 06.1 is not done yet" in out(capsys)



# ------------------------------------------------------------------ 06.2


def good_step(model, xb, yb, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def zero_grad_last(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def model_zero_grad(model, xb, yb, loss_fn, optimizer):
    model.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_backward(model, xb, yb, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    optimizer.step()
    return loss.item()


def no_step(model, xb, yb, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    return loss.item()


def zero_grad_between(model, xb, yb, loss_fn, optimizer):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def returns_tensor(model, xb, yb, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss


def returns_nothing(model, xb, yb, loss_fn, optimizer):
    good_step(model, xb, yb, loss_fn, optimizer)


def loss_after_step(model, xb, yb, loss_fn, optimizer):
    good_step(model, xb, yb, loss_fn, optimizer)
    return loss_fn(model(xb), yb).item()


def new_optimizer(model, xb, yb, loss_fn, optimizer):
    return good_step(model, xb, yb, loss_fn, torch.optim.SGD(model.parameters(), lr=0.5))


def not_written(model, xb, yb, loss_fn, optimizer):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [good_step, zero_grad_last, model_zero_grad])
def test_2_right(capsys, fn):
    ex06.check_2(fn)
    assert "✅ Exercise 06.2 passed" in out(capsys)


@pytest.mark.parametrize(
    "fn, hint",
    [
        (no_zero_grad, "forgot optimizer.zero_grad()"),
        (no_backward, "forgot loss.backward()"),
        (no_step, "forgot optimizer.step()"),
        (zero_grad_between, "zero_grad() runs between backward() and step()"),
        (returns_tensor, "loss.item()"),
        (returns_nothing, "return loss.item()"),
        (loss_after_step, "BEFORE the step"),
        (new_optimizer, "use the optimizer you are given"),
        (lambda *args: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_2_mistakes(capsys, fn, hint):
    ex06.check_2(fn)
    text = out(capsys)
    assert "❌ Exercise 06.2 is not right yet" in text and hint in text


def test_2_not_done(capsys):
    ex06.check_2(...)
    ex06.check_2(not_written)
    text = out(capsys)
    assert text.count("⏳ Exercise 06.2 is not done yet") == 2


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex06.check_2(good_step)
    ex06.check_4(lambda model, loader: 0.5)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ 06.3


def test_3_right(capsys):
    def standardise(train, test):
        mean, std = train.mean(0), train.std(0)
        return (train - mean) / std, (test - mean) / std

    def standardise_population_std(train, test):
        mean, std = train.mean(0), train.std(0, unbiased=False)
        return (train - mean) / std, (test - mean) / std

    ex06.check_3(standardise)
    ex06.check_3(standardise_population_std)
    assert out(capsys).count("✅ Exercise 06.3 passed") == 2


def test_3_leakage_and_other_mistakes(capsys):
    def own_stats(train, test):
        return (train - train.mean(0)) / train.std(0), (test - test.mean(0)) / test.std(0)

    def all_rows(train, test):
        both = torch.cat([train, test])
        return (train - both.mean(0)) / both.std(0), (test - both.mean(0)) / both.std(0)

    def centred_only(train, test):
        return train - train.mean(0), test - train.mean(0)

    def one_number(train, test):
        return (train - train.mean()) / train.std(), (test - train.mean()) / train.std()

    def single(train, test):
        return (train - train.mean(0)) / train.std(0)

    expectations = [(own_stats, "their own mean and std"), (all_rows, "that is leakage"),
                    (centred_only, "divide by the std"), (one_number, "each column on its own"),
                    (single, "expected a pair")]
    for fn, hint in expectations:
        ex06.check_3(fn)
        text = out(capsys)
        assert "❌ Exercise 06.3 is not right yet" in text and hint in text, fn.__name__


def test_3_not_done(capsys):
    ex06.check_3(...)

    def todo(train, test):
        raise NotImplementedError

    ex06.check_3(todo)
    assert out(capsys).count("⏳ Exercise 06.3 is not done yet") == 2


# ------------------------------------------------------------------ 06.4


def right_eval(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
            total += len(yb)
    return correct / total


def test_4_right(capsys):
    ex06.check_4(right_eval)
    assert "✅ Exercise 06.4 passed" in out(capsys)


def forgot_eval(model, loader):
    with torch.no_grad():
        return sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in loader) / len(loader.dataset)


def forgot_no_grad(model, loader):
    model.eval()
    return sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in loader) / len(loader.dataset)


def mean_of_batches(model, loader):
    model.eval()
    with torch.no_grad():
        scores = [(model(xb).argmax(1) == yb).float().mean().item() for xb, yb in loader]
    return sum(scores) / len(scores)


def percent(model, loader):
    return 100 * right_eval(model, loader)


@pytest.mark.parametrize(
    "fn, hint",
    [(forgot_eval, "forgot model.eval()"), (forgot_no_grad, "forgot torch.no_grad()"),
     (mean_of_batches, "the last batch is smaller"), (percent, "a fraction between 0 and 1"),
     (lambda model, loader: 0.5, "the model was never called")],
)
def test_4_mistakes(capsys, fn, hint):
    ex06.check_4(fn)
    text = out(capsys)
    assert "❌ Exercise 06.4 is not right yet" in text and hint in text


def test_4_not_done(capsys):
    ex06.check_4(...)
    assert "⏳ Exercise 06.4 is not done yet" in out(capsys)


# ------------------------------------------------------------------ 06.5


@pytest.mark.parametrize("lr", [0.03, 0.05])
def test_5_right(capsys, lr):
    ex06.check_5(lr)
    assert "✅ Exercise 06.5 passed" in out(capsys)


@pytest.mark.parametrize(
    "lr, hint",
    [(0.001, "too small"), (0.01, "too small"), (0.1, "too large"), (0.2, "too large"), (-0.1, "between 0.001 and 0.1")],
)
def test_5_mistakes(capsys, lr, hint):
    ex06.check_5(lr)
    text = out(capsys)
    assert "❌ Exercise 06.5 is not right yet" in text and hint in text


def test_5_not_done(capsys):
    ex06.check_5(...)
    assert "⏳ Exercise 06.5 is not done yet" in out(capsys)


def test_ids_and_math():
    assert math.ceil(60_000 / 64) == 938
