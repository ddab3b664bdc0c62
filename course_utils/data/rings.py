"""Seeded 2-D toy data for generative models (notebooks 11 and 12).

* ``ring_of_gaussians``: a mixture of k small Gaussians whose centres sit evenly on a
  circle, the classic test for mode collapse: a generator that covers every mode
  makes points near all k centres; a collapsed one makes them near a few.
* ``mode_coverage``: how many of those modes a batch of samples covers, with a
  precise definition (see its docstring).
* ``two_moons``, ``swiss_roll``, ``toy_2d``: other 2-D shapes for a first diffusion
  model, scaled to a spread of about 1 so the same noise schedule suits them all.

Everything is generated from a seed with a private generator: the same call gives
the same points, and the global random state is left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

TOYS = ("ring", "moons", "swiss_roll")


def _check_count(n: int, name: str = "n") -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive int; got {n!r}.")


def ring_centres(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The (n_modes, 2) centres, evenly spaced on a circle, the first one at angle 0."""
    _check_count(n_modes, "n_modes")
    if radius <= 0:
        raise ValueError(f"radius must be positive; got {radius}.")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1).float()


def ring_of_gaussians(
    n: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points from an equal mixture of ``n_modes`` Gaussians (std ``std``) on a circle.

    Returns ``(points (n, 2) float32, mode index of each point (n,) int64)``.
    """
    _check_count(n)
    if std <= 0:
        raise ValueError(f"std must be positive; got {std}.")
    generator = torch.Generator().manual_seed(seed)
    modes = torch.randint(0, n_modes, (n,), generator=generator)
    points = ring_centres(n_modes, radius)[modes] + std * torch.randn(n, 2, generator=generator)
    return points, modes


@dataclass(frozen=True)
class Coverage:
    """Which modes a batch of samples covers.

    ``fractions[k]`` is the share of samples within ``n_sigma`` standard deviations of
    centre k; mode k is *covered* when that share is at least ``min_fraction``.
    ``on_mode`` is the share of samples near any centre (the rest fall between modes).
    """

    fractions: tuple[float, ...]
    min_fraction: float
    n_sigma: float

    @property
    def covered(self) -> list[bool]:
        return [f >= self.min_fraction for f in self.fractions]

    @property
    def n_covered(self) -> int:
        return sum(self.covered)

    @property
    def n_modes(self) -> int:
        return len(self.fractions)

    @property
    def on_mode(self) -> float:
        return float(sum(self.fractions))

    def summary(self) -> str:
        return (
            f"{self.n_covered} of {self.n_modes} modes covered "
            f"(≥ {self.min_fraction:.0%} of samples within {self.n_sigma:g}σ); "
            f"{self.on_mode:.1%} of samples sit on a mode"
        )


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor, std: float, *, n_sigma: float = 3.0,
                  min_fraction: float = 0.01) -> Coverage:
    """Mode coverage of 2-D samples: mode k is covered when ≥ ``min_fraction`` of the
    samples lie within ``n_sigma * std`` of centre k (defaults: 1 % within 3σ).

    With std 0.05 and radius 2 the 3σ discs are far apart, so no sample counts twice.
    """
    if not isinstance(samples, torch.Tensor) or samples.dim() != 2 or samples.shape[1] != 2:
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"mode_coverage needs 2-D points of shape (N, 2); got {shape}.")
    if len(samples) == 0:
        raise ValueError("mode_coverage got no samples.")
    if not torch.isfinite(samples).all():
        raise ValueError("the samples contain NaN or infinite values: the generator diverged.")
    distances = torch.cdist(samples.detach().float(), centres.float())
    near = distances < n_sigma * std
    fractions = near.sum(dim=0).double() / len(samples)  # float64: 1 in 100 is exactly 0.01
    return Coverage(tuple(float(f) for f in fractions), min_fraction, n_sigma)


def _standardise(points: torch.Tensor) -> torch.Tensor:
    return (points - points.mean(0)) / points.std(0).mean()


def two_moons(n: int, noise: float = 0.06, seed: int = 0) -> torch.Tensor:
    """Two interleaved half circles (scikit-learn's ``make_moons``), centred, spread ≈ 1; (n, 2) float32."""
    from sklearn.datasets import make_moons

    _check_count(n)
    points, _ = make_moons(n_samples=n, noise=noise, random_state=seed)
    return _standardise(torch.tensor(points, dtype=torch.float32))


def swiss_roll(n: int, noise: float = 0.3, seed: int = 0) -> torch.Tensor:
    """A 2-D spiral (the x-z plane of scikit-learn's ``make_swiss_roll``), centred, spread ≈ 1."""
    from sklearn.datasets import make_swiss_roll

    _check_count(n)
    points, _ = make_swiss_roll(n_samples=n, noise=noise, random_state=seed)
    return _standardise(torch.tensor(points[:, [0, 2]], dtype=torch.float32))


def toy_2d(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """One of the 2-D toys by name: ``ring`` (8 modes, scaled to spread ≈ 1), ``moons`` or ``swiss_roll``."""
    if name == "ring":
        return ring_of_gaussians(n, seed=seed)[0] / 2.0
    if name == "moons":
        return two_moons(n, seed=seed)
    if name == "swiss_roll":
        return swiss_roll(n, seed=seed)
    raise ValueError(f"unknown 2-D toy {name!r}; choose one of {', '.join(TOYS)}.")
