"""Small 2-D toy data sets as tensors: logic-gate truth tables, noisy XOR, moons and circles.

Every generator takes a ``seed`` and returns the same points for the same arguments,
so notebooks can print and assert on results. Points are ``float32`` of shape (N, 2)
(or (2**k, k) for truth tables); labels are ``int64`` of shape (N,).

    from course_utils.data import toys
    X, y = toys.xor_points(n_per_corner=50, noise=0.15, seed=0)
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

GATES = ("and", "or", "xor", "nand")


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}.")
    return value


def _check_noise(noise: object) -> float:
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number ≥ 0 (the standard deviation of the jitter); got {noise!r}.")
    return float(noise)


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}.")
    return seed


def binary_inputs(n_inputs: int) -> torch.Tensor:
    """All ``2**n_inputs`` rows of 0/1 inputs, in counting order: (0,0), (0,1), (1,0), (1,1) for 2."""
    _check_count("n_inputs", n_inputs)
    if n_inputs > 16:
        raise ValueError(f"n_inputs={n_inputs} would make {2 ** n_inputs} rows; use at most 16.")
    rows = list(itertools.product((0.0, 1.0), repeat=n_inputs))
    return torch.tensor(rows, dtype=torch.float32)


def logic_gate(gate: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The truth table of a 2-input gate (``and``, ``or``, ``xor``, ``nand``): X (4, 2), y (4,)."""
    name = gate.lower() if isinstance(gate, str) else gate
    if name not in GATES:
        raise ValueError(f"gate must be one of {', '.join(GATES)}; got {gate!r}.")
    X = binary_inputs(2)
    a, b = X[:, 0].bool(), X[:, 1].bool()
    y = {"and": a & b, "or": a | b, "xor": a ^ b, "nand": ~(a & b)}[name]
    return X, y.long()


def xor_points(n_per_corner: int = 50, noise: float = 0.15, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy XOR: Gaussian clouds around the four corners of the unit square.

    Corners (0,0) and (1,1) are class 0, corners (0,1) and (1,0) are class 1, as in
    the XOR truth table. Returns ``X`` (4*n_per_corner, 2) float32 and ``y`` int64.
    """
    _check_count("n_per_corner", n_per_corner)
    noise = _check_noise(noise)
    rng = np.random.default_rng(_check_seed(seed))
    corners, labels = logic_gate("xor")
    centres = np.repeat(corners.numpy(), n_per_corner, axis=0)
    X = centres + rng.normal(0.0, noise, size=centres.shape)
    y = np.repeat(labels.numpy(), n_per_corner)
    order = rng.permutation(len(y))
    return torch.tensor(X[order], dtype=torch.float32), torch.tensor(y[order], dtype=torch.int64)


def moons(n_samples: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's two interleaving half-moons, as tensors (X float32 (N, 2), y int64 (N,))."""
    from sklearn.datasets import make_moons

    _check_count("n_samples", n_samples, minimum=2)
    X, y = make_moons(n_samples=n_samples, noise=_check_noise(noise), random_state=_check_seed(seed))
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def circles(
    n_samples: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's two concentric circles (class 1 is the inner one), as tensors.

    ``factor`` is the inner radius relative to the outer one, strictly between 0 and 1.
    """
    from sklearn.datasets import make_circles

    _check_count("n_samples", n_samples, minimum=2)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < 1:
        raise ValueError(f"factor (inner radius / outer radius) must be strictly between 0 and 1; got {factor!r}.")
    X, y = make_circles(
        n_samples=n_samples, noise=_check_noise(noise), factor=float(factor), random_state=_check_seed(seed)
    )
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def train_test(
    make, n_train: int, n_test: int, *, seed: int = 0, **kwargs
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw a training set and an independent test set from the same toy generator.

    ``make`` is ``moons``, ``circles`` or ``xor_points`` (for ``xor_points`` the counts are
    per corner). The test set uses ``seed + 1``, so the two never share points by construction.
    Returns ``(X_train, y_train, X_test, y_test)``.
    """
    if make not in (moons, circles, xor_points):
        raise ValueError("make must be toys.moons, toys.circles or toys.xor_points.")
    size_arg = "n_per_corner" if make is xor_points else "n_samples"
    X_train, y_train = make(**{size_arg: n_train}, seed=_check_seed(seed), **kwargs)
    X_test, y_test = make(**{size_arg: n_test}, seed=seed + 1, **kwargs)
    return X_train, y_train, X_test, y_test
