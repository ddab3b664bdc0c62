"""Loss surfaces and optimizer trajectories on them (pure: no widgets, no plots).

A *surface* is a small function ``f(p)`` of one or two numbers, with known minima,
so you can watch an optimizer walk on it. ``trajectory`` runs a real
``torch.optim`` optimizer (the same classes you use to train networks) for a few
steps and records where it went and the loss on the way. When the walk runs off
(the loss becomes inf/NaN, or the point leaves the plotted area) it stops and says
at which step, instead of crashing. ``describe`` turns a walk into one sentence:
converged, still far, oscillating, stalled near a saddle, or diverged. ``stability_map``
runs a whole grid of learning rates × momenta at once (one ``torch.optim`` parameter
group per cell) and records the loss after every step, for the playground's heat map.

    >>> from course_utils.topics.training_loops import landscapes
    >>> walk = landscapes.trajectory("bumpy", "sgd", lr=0.03, steps=10)
    >>> landscapes.describe(walk).kind
    'converged'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

Point = tuple[float, ...]

MAX_STEPS = 2000


class LandscapeError(ValueError):
    """A surface, optimizer or setting that ``trajectory`` cannot use."""


# --------------------------------------------------------------------------- surfaces


@dataclass(frozen=True)
class Surface:
    """A loss surface ``f`` of ``dim`` variables with its known minima and plot limits.

    ``f`` takes a tensor whose LAST dimension holds the coordinates, shape ``(..., dim)``,
    and returns the loss with shape ``(...)``; so it works for one point and for a grid.
    """

    name: str
    title: str
    formula: str  # LaTeX, for the notebook
    dim: int
    f: Callable[[torch.Tensor], torch.Tensor]
    start: Point
    minima: tuple[Point, ...]  # the first one is the global minimum
    limits: tuple[tuple[float, float], ...]  # plot range per coordinate
    saddles: tuple[Point, ...] = ()
    tol: float = 0.05  # "at a minimum" means within this distance of it

    def __call__(self, p: torch.Tensor | Sequence[float]) -> torch.Tensor:
        p = torch.as_tensor(p, dtype=torch.float64)
        if p.shape[-1:] != (self.dim,):
            raise LandscapeError(
                f"surface {self.name!r} takes points with {self.dim} coordinate(s) in the last dimension; "
                f"got shape {tuple(p.shape)}."
            )
        return self.f(p)

    @property
    def best_loss(self) -> float:
        """The loss at the global minimum."""
        return float(self(torch.tensor(self.minima[0], dtype=torch.float64)))

    def in_escape_box(self, p: torch.Tensor) -> bool:
        """False once the point is well outside the plot (half a plot width beyond an edge)."""
        for value, (low, high) in zip(p.tolist(), self.limits, strict=True):
            margin = 0.5 * (high - low)
            if not low - margin <= value <= high + margin:
                return False
        return True


def _bumpy(p: torch.Tensor) -> torch.Tensor:
    x = p[..., 0]
    return 1.25 * (x**4 - 4 * x**2 + 2 * x)


def _ravine(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return 0.1 * x**2 + 2.0 * y**2


def _rosenbrock(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _saddle(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2


def _bumpy_critical_points() -> tuple[float, float, float]:
    """Roots of f'(x) = 1.25 (4x^3 - 8x + 2), found by bisection (no NumPy needed)."""

    def grad(x: float) -> float:
        return 4 * x**3 - 8 * x + 2

    roots = []
    for low, high in ((-2.0, -1.0), (0.0, 0.5), (1.0, 2.0)):
        for _ in range(80):
            mid = 0.5 * (low + high)
            if (grad(low) < 0) == (grad(mid) < 0):
                low = mid
            else:
                high = mid
        roots.append(round(0.5 * (low + high), 6))
    return roots[0], roots[1], roots[2]


_B_GLOBAL, _B_BUMP, _B_LOCAL = _bumpy_critical_points()

SURFACES: dict[str, Surface] = {s.name: s for s in (
    # name, title, formula, dim, f, start, minima, limits, saddles
    Surface("bumpy", "1-D bumpy curve (a local and a global minimum)", r"f(x) = 1.25\,(x^4 - 4x^2 + 2x)",
            1, _bumpy, (2.0,), ((_B_GLOBAL,), (_B_LOCAL,)), ((-2.5, 2.5),)),  # the bump at x≈0.26 is a maximum
    Surface("ravine", "ill-conditioned quadratic (a long, narrow valley)", r"f(x, y) = 0.1\,x^2 + 2\,y^2",
            2, _ravine, (-4.0, 1.0), ((0.0, 0.0),), ((-5.0, 5.0), (-2.0, 2.0))),
    Surface("rosenbrock", "Rosenbrock (a curved, flat-bottomed valley)", r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
            2, _rosenbrock, (-1.5, 2.0), ((1.0, 1.0),), ((-2.0, 2.0), (-1.0, 3.0))),
    Surface("saddle", "saddle point (two minima either side of a ridge)",
            r"f(x, y) = \tfrac12 x^2 + \tfrac14 y^4 - \tfrac12 y^2",
            2, _saddle, (-2.0, 0.01), ((0.0, 1.0), (0.0, -1.0)), ((-2.5, 2.5), (-1.8, 1.8)), ((0.0, 0.0),)),
)}


def get_surface(surface: str | Surface) -> Surface:
    """Look a surface up by name (or pass a ``Surface`` through)."""
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise LandscapeError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}.")
    return SURFACES[surface]


# --------------------------------------------------------------------------- optimizers

OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD (momentum: heavy-ball velocity)",
    "nesterov": "SGD with Nesterov momentum",
    "rmsprop": "RMSprop (momentum: its momentum argument)",
    "adam": "Adam (momentum: its beta1)",
}


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, momentum: float) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer behind a name; ``momentum`` is beta1 for Adam.

    Nesterov with ``momentum=0`` is plain SGD (PyTorch refuses the combination, the maths agrees).
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=momentum > 0)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999))
    raise LandscapeError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")


def momentum_name(optimizer: str) -> str:
    """What the momentum setting means for this optimizer (for titles)."""
    return "β1" if optimizer == "adam" else "momentum"


def validate_settings(optimizer: str, lr: float, momentum: float, steps: int) -> None:
    """Raise a ``LandscapeError`` that says what is wrong with a setting and what to use."""
    if optimizer not in OPTIMIZERS:
        raise LandscapeError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise LandscapeError(
            f"lr must be a positive number (the step size); got {lr!r}. A negative learning rate would "
            "walk uphill. Typical values: 0.001 to 0.1."
        )
    if isinstance(momentum, bool) or not isinstance(momentum, int | float) or not 0 <= momentum < 1:
        raise LandscapeError(
            f"momentum must be in [0, 1); got {momentum!r}. 0 means no memory of past steps; at 1 or more "
            "the velocity never decays and grows without bound. Typical values: 0.9 (SGD), 0.9 (Adam's beta1)."
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise LandscapeError(f"steps must be an int from 1 to {MAX_STEPS}; got {steps!r}.")


# --------------------------------------------------------------------------- trajectories


@dataclass(frozen=True)
class Trajectory:
    """Where an optimizer went: ``positions[k]`` and ``losses[k]`` after k steps (k=0 is the start).

    If the walk diverged at step N, ``diverged_at == N``, the lists stop at step N-1 (the last
    point that was finite and on the plot) and ``divergence`` says what happened.
    """

    surface: str
    optimizer: str
    lr: float
    momentum: float
    steps: int
    positions: list[Point]
    losses: list[float]
    diverged_at: int | None = None
    divergence: str | None = None

    @property
    def final(self) -> Point:
        return self.positions[-1]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def as_tensor(self) -> torch.Tensor:
        """Positions as a float64 tensor of shape (steps taken + 1, dim)."""
        return torch.tensor(self.positions, dtype=torch.float64)


def trajectory(surface: str | Surface, optimizer: str = "sgd", lr: float = 0.01, momentum: float = 0.0,
               steps: int = 20, start: Sequence[float] | None = None) -> Trajectory:
    """Run ``steps`` steps of a ``torch.optim`` optimizer on a surface, from ``start``.

    Each step is exactly the training loop: ``zero_grad()``, loss = f(p), ``backward()``, ``step()``.
    Divergence (inf/NaN, or leaving the plotted area) stops the walk and is reported, not raised.
    """
    surf = get_surface(surface)
    validate_settings(optimizer, lr, momentum, steps)
    start = surf.start if start is None else tuple(float(v) for v in start)
    if len(start) != surf.dim:
        raise LandscapeError(f"surface {surf.name!r} has {surf.dim} coordinate(s); start {start!r} has {len(start)}.")
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(optimizer, [p], float(lr), float(momentum))
    positions: list[Point] = [tuple(start)]
    losses: list[float] = [float(surf(p.detach()))]
    diverged_at, divergence = None, None
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = surf(p)
        loss.backward()
        opt.step()
        with torch.no_grad():
            new_loss = float(surf(p))
        where = p.detach()
        if not (torch.isfinite(where).all() and math.isfinite(new_loss)):
            diverged_at, divergence = step, "the position or the loss became inf/NaN"
            break
        if not surf.in_escape_box(where):
            diverged_at = step
            divergence = f"the point jumped off the plot (to {_fmt_point(tuple(where.tolist()))})"
            break
        positions.append(tuple(where.tolist()))
        losses.append(new_loss)
    return Trajectory(
        surface=surf.name, optimizer=optimizer, lr=float(lr), momentum=float(momentum), steps=steps,
        positions=positions, losses=losses, diverged_at=diverged_at, divergence=divergence,
    )


# --------------------------------------------------------------------------- outcome in words


@dataclass(frozen=True)
class Outcome:
    """A walk summed up: ``kind`` is one of converged / still far / oscillating / stalled / diverged."""

    kind: str
    text: str
    step: int | None = None  # the step it converged or diverged at
    minimum: Point | None = None

    @property
    def headline(self) -> str:
        """A few words for a title: 'converged in 12 steps', 'diverged at step 3', 'oscillating'..."""
        if self.kind == "converged":
            return "converged at the start" if self.step == 0 else f"converged in {self.step} steps"
        if self.kind == "diverged":
            return f"diverged at step {self.step}"
        return self.kind


def _fmt_point(point: Sequence[float]) -> str:
    if len(point) == 1:
        return f"x={point[0]:.3g}"
    return "(" + ", ".join(f"{v:.3g}" for v in point) + ")"


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def _oscillation_fraction(positions: list[Point]) -> float:
    """Share of consecutive step pairs in the second half that point in opposite directions."""
    moves = [
        tuple(b - a for a, b in zip(p, q, strict=True)) for p, q in zip(positions[:-1], positions[1:], strict=True)
    ]
    tail = moves[len(moves) // 2 :]
    if len(tail) < 3:
        return 0.0
    reversals = sum(sum(u * v for u, v in zip(m, n, strict=True)) < 0 for m, n in zip(tail[:-1], tail[1:], strict=True))
    return reversals / (len(tail) - 1)


def _segment_distance(a: Sequence[float], b: Sequence[float], m: Sequence[float]) -> float:
    """Distance from point ``m`` to the segment from ``a`` to ``b``."""
    ab = [y - x for x, y in zip(a, b, strict=True)]
    length2 = sum(v * v for v in ab)
    t = 0.0 if length2 == 0 else sum((q - x) * v for x, q, v in zip(a, m, ab, strict=True)) / length2
    t = min(1.0, max(0.0, t))
    return _distance([x + t * v for x, v in zip(a, ab, strict=True)], m)


def _passes_near(positions: list[Point], minimum: Point, tol: float) -> bool:
    """True if the path went through the neighbourhood of ``minimum`` (it may have overshot it)."""
    return any(_segment_distance(a, b, minimum) <= tol for a, b in zip(positions[:-1], positions[1:], strict=True))


def _uphill_fraction(losses: list[float]) -> float:
    """Share of steps in the second half of a walk that made the loss go up."""
    tail = losses[len(losses) // 2 :]
    if len(tail) < 4:
        return 0.0
    scale = max(1e-12, max(abs(v) for v in tail))
    ups = sum(b > a + 1e-9 * scale for a, b in zip(tail[:-1], tail[1:], strict=True))
    return ups / (len(tail) - 1)


def _bounces_do_not_shrink(losses: list[float]) -> bool:
    """True if the loss peaks of the last quarter are no lower than those of the quarter before.

    That is a walk at or beyond the stability limit (on a quadratic: a linear factor of -1 or below),
    where more steps never help.
    """
    if len(losses) < 8:
        return False
    q = len(losses) // 4
    before, last = max(losses[-2 * q : -q]), max(losses[-q:])
    return last >= 0.97 * before


def _overshoot_advice(walk: Trajectory) -> str:
    """Why a walk overshoots and what to lower: only name a momentum the walk actually has."""
    name = momentum_name(walk.optimizer)
    lower = "the learning rate" if walk.momentum == 0 else f"the learning rate or the {name}"
    if _bounces_do_not_shrink(walk.losses):
        return (f"The bounces do not shrink: this setting is at or beyond the stability limit, so more steps "
                f"will not help. Lower {lower}.")
    if walk.momentum == 0:
        return "The steps are too big for the curvature: lower the learning rate, or give it more steps."
    return (f"The steps are too big for the curvature, or the {name} carries it past the minimum: lower the "
            f"learning rate or the {name}, or give it more steps.")


def describe(walk: Trajectory, surface: Surface | None = None) -> Outcome:
    """Say in words what happened on a walk."""
    surf = get_surface(surface or walk.surface)
    taken = len(walk.positions) - 1
    if walk.diverged:
        return Outcome(
            "diverged",
            f"diverged at step {walk.diverged_at}: {walk.divergence}. Lower the learning rate.",
            step=walk.diverged_at,
        )
    final = walk.final
    for minimum in surf.minima:
        near = [_distance(p, minimum) <= surf.tol for p in walk.positions]
        if near[-1]:
            first = taken
            while first > 0 and near[first - 1]:
                first -= 1
            which = ""
            if len(surf.minima) > 1:
                is_global = math.isclose(float(surf(torch.tensor(minimum))), surf.best_loss, rel_tol=1e-9)
                which = " (the global one)" if is_global else " (a local one, not the lowest)"
            at = "at the start" if first == 0 else f"in {first} step{'s' * (first != 1)}"
            return Outcome(
                "converged", f"converged {at} to the minimum at {_fmt_point(minimum)}{which}.",
                step=first, minimum=minimum,
            )
    nearest = min(surf.minima, key=lambda m: _distance(final, m))
    gap = walk.final_loss - surf.best_loss
    overshot = any(_passes_near(walk.positions, m, surf.tol) for m in surf.minima)
    if overshot or _oscillation_fraction(walk.positions) >= 0.6 or _uphill_fraction(walk.losses) >= 0.3:
        return Outcome(
            "oscillating",
            f"oscillating: after {taken} steps it still overshoots and comes back (now at {_fmt_point(final)}, "
            f"loss {walk.final_loss:.3g}). {_overshoot_advice(walk)}",
        )
    for saddle in surf.saddles:
        if _distance(final, saddle) <= 0.2:
            return Outcome(
                "stalled",
                f"stalled near the saddle point at {_fmt_point(saddle)} after {taken} steps: the gradient is "
                "almost zero there. More steps or momentum get it moving.",
            )
    return Outcome(
        "still far",
        f"still far after {taken} steps: at {_fmt_point(final)}, {_distance(final, nearest):.3g} from the nearest "
        f"minimum {_fmt_point(nearest)} (loss {gap:.3g} above the best). Try a larger learning rate or more steps.",
    )


# --------------------------------------------------------------------------- the stability map

MAP_LRS: tuple[float, ...] = tuple(10 ** (e / 5) for e in range(-20, 1))  # 1e-4 to 1, 5 per decade
MAP_MOMENTA: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class StabilityMap:
    """The outcome of every (momentum, learning rate) pair on one surface with one optimizer.

    ``gaps[k, i, j]`` is the loss above the best after ``k`` steps with ``momenta[i]`` and
    ``lrs[j]`` (NaN once that walk has diverged); ``diverged_at[i, j]`` is the step at which
    it diverged (0 if it never did within ``steps``). Divergence means the same as in
    ``trajectory``: inf/NaN, or a point well off the plot.
    """

    surface: str
    optimizer: str
    lrs: tuple[float, ...]
    momenta: tuple[float, ...]
    steps: int
    gaps: torch.Tensor  # (steps + 1, len(momenta), len(lrs)), float64
    diverged_at: torch.Tensor  # (len(momenta), len(lrs)), int64

    def after(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(gap, diverged)`` after ``steps`` steps: the loss above the best and a bool mask."""
        if not 0 <= steps <= self.steps:
            raise LandscapeError(f"this map was computed for up to {self.steps} steps; got steps={steps}.")
        diverged = (self.diverged_at > 0) & (self.diverged_at <= steps)
        gap = self.gaps[steps].clone()
        gap[diverged] = float("nan")
        return gap, diverged


def stability_map(surface: str | Surface, optimizer: str = "sgd", steps: int = 300, lrs: Sequence[float] = MAP_LRS,
                  momenta: Sequence[float] = MAP_MOMENTA) -> StabilityMap:
    """Walk every (momentum, lr) pair at once with the real ``torch.optim`` class.

    Each cell is its own parameter (one parameter group with its own ``lr`` and momentum), so
    every cell takes exactly the steps ``trajectory`` would take; the losses of all cells are
    summed only to call ``backward()`` once (the cells do not interact). A diverged cell
    drops out of the sum, its gradient stays ``None`` and the optimizer skips it.
    """
    surf = get_surface(surface)
    lrs, momenta = tuple(float(v) for v in lrs), tuple(float(v) for v in momenta)
    if not lrs or not momenta:
        raise LandscapeError("stability_map needs at least one learning rate and one momentum.")
    for lr in lrs:
        for mu in momenta:
            validate_settings(optimizer, lr, mu, steps)
    cells = [(mu, lr) for mu in momenta for lr in lrs]
    params = [torch.tensor(surf.start, dtype=torch.float64, requires_grad=True) for _ in cells]
    optimizers = {
        "sgd": lambda p, lr, mu: {"params": [p], "lr": lr, "momentum": mu},
        "nesterov": lambda p, lr, mu: {"params": [p], "lr": lr, "momentum": mu, "nesterov": mu > 0},
        "rmsprop": lambda p, lr, mu: {"params": [p], "lr": lr, "momentum": mu},
        "adam": lambda p, lr, mu: {"params": [p], "lr": lr, "betas": (mu, 0.999)},
    }
    groups = [optimizers[optimizer](p, lr, mu) for p, (mu, lr) in zip(params, cells, strict=True)]
    opt = {"sgd": torch.optim.SGD, "nesterov": torch.optim.SGD, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam}[optimizer](groups, lr=lrs[0])
    best = surf.best_loss
    gaps = torch.full((steps + 1, len(cells)), float("nan"), dtype=torch.float64)
    diverged_at = torch.zeros(len(cells), dtype=torch.int64)
    with torch.no_grad():
        gaps[0] = surf(torch.stack(params)) - best
    lows = torch.tensor([low - 0.5 * (high - low) for low, high in surf.limits], dtype=torch.float64)
    highs = torch.tensor([high + 0.5 * (high - low) for low, high in surf.limits], dtype=torch.float64)
    alive = torch.arange(len(cells))
    for step in range(1, steps + 1):
        opt.zero_grad()
        surf(torch.stack([params[i] for i in alive.tolist()])).sum().backward()
        opt.step()
        with torch.no_grad():
            where = torch.stack([params[i] for i in alive.tolist()])
            loss = surf(where)
            bad = ~(torch.isfinite(where).all(dim=1) & torch.isfinite(loss)
                    & (where >= lows).all(dim=1) & (where <= highs).all(dim=1))
            gaps[step, alive[~bad]] = loss[~bad] - best
            diverged_at[alive[bad]] = step
            alive = alive[~bad]
        if len(alive) == 0:
            break
    shape = (len(momenta), len(lrs))
    return StabilityMap(
        surface=surf.name, optimizer=optimizer, lrs=lrs, momenta=momenta, steps=steps,
        gaps=gaps.reshape(steps + 1, *shape), diverged_at=diverged_at.reshape(shape),
    )
