import pytest
import torch

from course_utils.data import toys


@pytest.mark.parametrize(
    ("gate", "labels"),
    [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0]), ("nand", [1, 1, 1, 0]), ("XOR", [0, 1, 1, 0])],
)
def test_logic_gates(gate, labels):
    X, y = toys.logic_gate(gate)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert X.dtype == torch.float32 and y.dtype == torch.int64
    assert y.tolist() == labels


def test_binary_inputs_counts_in_order():
    X = toys.binary_inputs(3)
    assert X.shape == (8, 3) and X.dtype == torch.float32
    assert X[0].tolist() == [0, 0, 0] and X[-1].tolist() == [1, 1, 1]
    assert len({tuple(r) for r in X.tolist()}) == 8


def test_xor_points_follow_the_truth_table():
    X, y = toys.xor_points(n_per_corner=30, noise=0.0, seed=3)
    assert X.shape == (120, 2) and y.shape == (120,)
    corners = X.round().long()
    assert torch.equal(y, corners[:, 0] ^ corners[:, 1])
    assert (y == 1).sum() == 60


@pytest.mark.parametrize("make", [toys.moons, toys.circles])
def test_sklearn_sets_are_seeded_tensors(make):
    X1, y1 = make(n_samples=50, seed=4)
    X2, y2 = make(n_samples=50, seed=4)
    X3, _ = make(n_samples=50, seed=5)
    assert X1.shape == (50, 2) and X1.dtype == torch.float32 and y1.dtype == torch.int64
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)
    assert set(y1.tolist()) == {0, 1}


def test_xor_points_are_reproducible():
    a = toys.xor_points(10, seed=1)
    b = toys.xor_points(10, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_circles_inner_ring_is_class_one():
    X, y = toys.circles(n_samples=200, noise=0.0, factor=0.3, seed=0)
    radius = X.norm(dim=1)
    assert torch.allclose(radius[y == 1], torch.full_like(radius[y == 1], 0.3), atol=1e-5)
    assert torch.allclose(radius[y == 0], torch.ones_like(radius[y == 0]), atol=1e-5)


def test_train_test_draws_independent_sets():
    X_tr, y_tr, X_te, y_te = toys.train_test(toys.moons, 40, 60, seed=0, noise=0.1)
    assert X_tr.shape == (40, 2) and X_te.shape == (60, 2)
    assert not torch.equal(X_tr[:10], X_te[:10])
    X_tr, _, X_te, _ = toys.train_test(toys.xor_points, 5, 7, seed=0)
    assert X_tr.shape == (20, 2) and X_te.shape == (28, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: toys.logic_gate("nor"), "gate must be one of"),
        (lambda: toys.binary_inputs(0), "n_inputs must be an int"),
        (lambda: toys.binary_inputs(20), "at most 16"),
        (lambda: toys.xor_points(0), "n_per_corner"),
        (lambda: toys.xor_points(5, noise=-1), "noise must be"),
        (lambda: toys.xor_points(5, seed=-2), "seed must be"),
        (lambda: toys.moons(n_samples=1), "n_samples"),
        (lambda: toys.moons(noise=float("nan")), "noise must be"),
        (lambda: toys.circles(factor=1.0), "factor"),
        (lambda: toys.circles(n_samples=2.5), "n_samples"),
        (lambda: toys.train_test(lambda **_: None, 5, 5), "make must be"),
    ],
)
def test_bad_input_is_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()
