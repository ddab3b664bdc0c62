"""Unit tests for course_utils.data.seqtasks (generated sequence tasks)."""

import pytest
import torch

from course_utils.data import seqtasks


def _rows(X: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(r) for r in X.tolist()}


@pytest.mark.parametrize("name", ["sorting", "reversal"])
def test_shapes_dtypes_and_vocab(name):
    task = seqtasks.make_task(name, length=6, vocab_size=7, n_train=300, n_val=50, n_test=100, seed=1)
    assert task.sizes() == (300, 50, 100)
    assert task.X_train.shape == (300, 6) and task.y_test.shape == (100, 6)
    assert task.X_train.dtype == torch.int64 and task.y_train.dtype == torch.int64
    assert task.vocab == tuple("0123456") and task.vocab_size == 7
    assert task.input_length == task.output_length == 6
    assert int(task.X_train.max()) < 7 and int(task.X_train.min()) >= 0


def test_sorting_and_reversal_targets_are_right():
    sort = seqtasks.make_task("sorting", length=5, n_train=200, n_test=50)
    assert torch.equal(sort.y_train, sort.X_train.sort(dim=1).values)
    rev = seqtasks.make_task("reversal", length=5, n_train=200, n_test=50)
    assert torch.equal(rev.y_test, rev.X_test.flip(1))


def test_addition_targets_are_right():
    task = seqtasks.make_task("addition", length=3, n_train=500, n_test=100, seed=2)
    assert task.input_length == 7 and task.output_length == 4
    assert task.vocab[-1] == "+" and (task.X_train[:, 3] == 10).all()

    def number(digits):
        return int("".join(str(d) for d in digits))

    for x, y in zip(task.X_train[:50].tolist(), task.y_train[:50].tolist(), strict=True):
        assert number(x[:3]) + number(x[4:]) == number(y)


def test_splits_are_disjoint_and_inputs_unique():
    task = seqtasks.make_task("sorting", length=4, vocab_size=6, n_train=250, n_val=30, n_test=60, seed=3)
    train, val, test = _rows(task.X_train), _rows(task.X_val), _rows(task.X_test)
    assert len(train) == 250 and len(val) == 30 and len(test) == 60
    assert not train & test and not train & val and not val & test


def test_same_seed_same_data_other_seed_other_data():
    a = seqtasks.make_task("reversal", length=6, n_train=100, n_test=20, seed=0)
    b = seqtasks.make_task("reversal", length=6, n_train=100, n_test=20, seed=0)
    c = seqtasks.make_task("reversal", length=6, n_train=100, n_test=20, seed=1)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.X_test, b.X_test)
    assert not torch.equal(a.X_train, c.X_train)


def test_decode_and_its_errors():
    task = seqtasks.make_task("sorting", length=3, n_train=50, n_test=10)
    assert task.decode(torch.tensor([3, 1, 4])) == "3 1 4"
    with pytest.raises(ValueError, match="one sequence"):
        task.decode(torch.tensor([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        task.decode([1, 12])


def test_exact_match_needs_every_position():
    targets = torch.tensor([[1, 2, 3], [4, 5, 6]])
    pred = torch.tensor([[1, 2, 3], [4, 5, 0]])
    assert seqtasks.exact_match(pred, targets) == 0.5
    assert seqtasks.token_accuracy(pred, targets) == pytest.approx(5 / 6)
    logits = torch.nn.functional.one_hot(targets, 7).float()
    assert seqtasks.exact_match(logits, targets) == 1.0
    with pytest.raises(ValueError, match="matching targets"):
        seqtasks.exact_match(pred[:, :2], targets)
    with pytest.raises(ValueError, match="no sequences"):
        seqtasks.exact_match(torch.zeros(0, 3, dtype=torch.long), torch.zeros(0, 3, dtype=torch.long))


def test_loaders():
    task = seqtasks.make_task("sorting", length=4, n_train=100, n_val=20, n_test=30)
    train, val, test = task.loaders(batch_size=32, seed=0)
    xb, yb = next(iter(train))
    assert xb.shape == (32, 4) and yb.shape == (32, 4)
    assert val is not None and len(val.dataset) == 20 and len(test.dataset) == 30
    first = next(iter(task.loaders(batch_size=32, seed=0)[0]))[0]
    assert torch.equal(xb, first), "the same seed shuffles the same way"
    assert seqtasks.make_task("sorting", length=4, n_train=10, n_test=5).loaders()[1] is None
    with pytest.raises(ValueError, match="batch_size"):
        task.loaders(batch_size=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "copying"}, "unknown task"),
        ({"name": "sorting", "length": 0}, "length"),
        ({"name": "sorting", "vocab_size": 1}, "vocab_size"),
        ({"name": "sorting", "n_train": 0}, "positive ints"),
        ({"name": "sorting", "n_val": -1}, "non-negative"),
        ({"name": "addition", "vocab_size": 5}, "base 10"),
        ({"name": "sorting", "length": 2, "vocab_size": 3, "n_train": 10}, "too few"),
    ],
)
def test_bad_input_is_explained(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message):
        seqtasks.make_task(name, **kwargs)
