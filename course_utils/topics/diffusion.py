"""Diffusion helpers for notebook 12: noise schedules, the forward process, an ε-predicting
MLP with a time embedding, DDPM training, DDPM and DDIM samplers, a whitened-PCA
latent space for digits, figures and the noise-schedule widget.

Conventions (the same as the notebook's formulas): time runs t = 0, 1, ..., T with
x_0 the clean data. ``Schedule.betas[t]`` is β_t for t = 1..T (``betas[0] = 0``), and
``alpha_bar[t] = ∏_{s ≤ t} (1 − β_s)``, so ``alpha_bar[0] = 1``. The model is asked
about t = 1..T.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils import models, plots, runtime
from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class Schedule:
    """A noise schedule: ``betas`` has length T + 1 with ``betas[0] = 0``."""

    name: str
    betas: torch.Tensor

    def __post_init__(self) -> None:
        b = self.betas
        if b.dim() != 1 or len(b) < 2 or float(b[0]) != 0.0:
            raise ValueError("betas must be a 1-D tensor [0, β_1, ..., β_T] (index 0 is the clean data).")
        if not bool(((b[1:] > 0) & (b[1:] < 1)).all()):
            raise ValueError("every β_t for t ≥ 1 must lie strictly between 0 and 1.")

    @property
    def T(self) -> int:
        return len(self.betas) - 1

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)


def linear_schedule(T: int = 100, beta_1: float | None = None, beta_T: float | None = None) -> Schedule:
    """β_t rising linearly. The defaults are DDPM's 1e-4 → 0.02 for T = 1000, scaled by 1000/T."""
    _check_T(T)
    beta_1 = 1e-4 * 1000 / T if beta_1 is None else beta_1
    beta_T = min(0.02 * 1000 / T, 0.999) if beta_T is None else beta_T
    betas = torch.linspace(beta_1, beta_T, T, dtype=torch.float64)
    return Schedule("linear", torch.cat([torch.zeros(1, dtype=torch.float64), betas]).float())


def cosine_schedule(T: int = 100, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal's cosine schedule: ᾱ_t = f(t)/f(0) with f(t) = cos²((t/T + s)/(1 + s) · π/2)."""
    _check_T(T)
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)
    return Schedule("cosine", torch.cat([torch.zeros(1, dtype=torch.float64), betas]).float())


def _check_T(T: int) -> None:
    if not isinstance(T, int) or T < 2:
        raise ValueError(f"T (the number of noising steps) must be an int ≥ 2; got {T!r}.")


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a per-sample vector (N,) so it broadcasts over the other dimensions of ``like``."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def _as_steps(t: int | torch.Tensor, n: int, T: int) -> torch.Tensor:
    steps = torch.full((n,), t, dtype=torch.long) if isinstance(t, int) else t.long()
    if steps.shape != (n,):
        raise ValueError(f"t must be an int or a tensor of shape ({n},); got shape {tuple(steps.shape)}.")
    if bool((steps < 0).any()) or bool((steps > T).any()):
        raise ValueError(f"t must lie in 0..{T}; got values from {int(steps.min())} to {int(steps.max())}.")
    return steps


# --------------------------------------------------------------------------- forward process


def q_sample(x0: torch.Tensor, t: int | torch.Tensor, noise: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """The closed form of the forward process: x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε."""
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have the shape of x0, {tuple(x0.shape)}; got {tuple(noise.shape)}.")
    steps = _as_steps(t, len(x0), schedule.T)
    alpha_bar = _per_sample(schedule.alpha_bar[steps], x0)
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


def noise_step_by_step(x0: torch.Tensor, t: int, schedule: Schedule, generator: torch.Generator) -> torch.Tensor:
    """Apply q(x_s | x_{s−1}) = N(√(1 − β_s) x_{s−1}, β_s I) for s = 1..t, one step at a time."""
    if not 0 <= t <= schedule.T:
        raise ValueError(f"t must lie in 0..{schedule.T}; got {t}.")
    x = x0.clone()
    for s in range(1, t + 1):
        beta = schedule.betas[s]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(x.shape, generator=generator)
    return x


def predict_x0(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """Invert the closed form: x_0 ≈ (x_t − √(1 − ᾱ_t) · ε̂) / √ᾱ_t (``alpha_bar_t`` per sample or a number)."""
    alpha_bar_t = torch.as_tensor(alpha_bar_t, dtype=x_t.dtype)
    if alpha_bar_t.dim() == 1:
        alpha_bar_t = _per_sample(alpha_bar_t, x_t)
    return (x_t - (1 - alpha_bar_t).sqrt() * eps) / alpha_bar_t.sqrt()


# --------------------------------------------------------------------------- the ε-predictor


class SinusoidalTimeEmbedding(nn.Module):
    """t (N,) -> (N, dim): sines and cosines of t at geometrically spaced frequencies."""

    def __init__(self, dim: int = 32, max_period: float = 1000.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"the time-embedding size must be even; got {dim}.")
        half = dim // 2
        self.register_buffer("frequencies", torch.exp(-math.log(max_period) * torch.arange(half) / half))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t.float()[:, None] * self.frequencies[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)


class EpsilonMLP(nn.Module):
    """ε̂_θ(x_t, t): an MLP with residual blocks; the time embedding is added to the first hidden layer."""

    def __init__(self, data_dim: int, hidden: int = 256, depth: int = 2, time_dim: int = 32) -> None:
        super().__init__()
        self.time = nn.Sequential(SinusoidalTimeEmbedding(time_dim), nn.Linear(time_dim, hidden), nn.SiLU(),
                                  nn.Linear(hidden, hidden))
        self.inp = nn.Linear(data_dim, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.out = nn.Linear(hidden, data_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.inp(x) + self.time(t)
        for block in self.blocks:
            h = h + block(F.silu(h))
        return self.out(F.silu(h))


def ddpm_loss(model: nn.Module, x0: torch.Tensor, schedule: Schedule, generator: torch.Generator) -> torch.Tensor:
    """The ε-prediction objective: t ~ U{1..T}, ε ~ N(0, I), loss = mean ‖ε − ε̂_θ(x_t, t)‖²."""
    t = torch.randint(1, schedule.T + 1, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    return F.mse_loss(model(q_sample(x0, t, noise, schedule), t), noise)


@dataclass
class DiffusionRun:
    """A trained ε-predictor (``model`` is the weight average when ``ema`` > 0) and its loss per step."""

    model: nn.Module
    schedule: Schedule
    losses: list[float] = field(default_factory=list)


def train_ddpm(data: torch.Tensor, schedule: Schedule, *, hidden: int = 256, depth: int = 2, steps: int = 2000,
               batch_size: int = 128, lr: float = 3e-3, warmup: int = 100, ema: float = 0.995, decay: bool = True,
               seed: int = 0) -> DiffusionRun:
    """Train an ``EpsilonMLP`` on ``data`` (N, D) with Adam (a linear warm-up, then a cosine decay of the
    learning rate to 0 when ``decay``) and an exponential moving average of the weights (``ema`` > 0).
    Deterministic for a seed."""
    if not isinstance(data, torch.Tensor) or data.dim() != 2:
        raise ValueError(f"train_ddpm needs data of shape (N, D); got {getattr(data, 'shape', type(data))}.")
    if steps < 1 or batch_size < 1 or not 0.0 <= ema < 1.0:
        raise ValueError(f"need steps ≥ 1, batch_size ≥ 1 and 0 ≤ ema < 1; got {steps}, {batch_size}, {ema}.")
    with runtime.seeded(seed):
        model = EpsilonMLP(data.shape[1], hidden, depth)
    average = models.moving_average(model, ema) if ema > 0 else None
    rng = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)  # faster than foreach for small models

    def factor(k: int) -> float:
        ramp = min(1.0, (k + 1) / max(1, warmup))
        return ramp * (0.5 * (1 + math.cos(math.pi * min(k, steps) / steps)) if decay else 1.0)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses = []
    for _ in range(steps):
        batch = data[torch.randint(0, len(data), (batch_size,), generator=rng)]
        loss = ddpm_loss(model, batch, schedule, rng)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if average is not None:
            average.update_parameters(model)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"DDPM training diverged at step {len(losses)}: lower the learning rate.")
    final = average.module if average is not None else model
    final.eval()
    return DiffusionRun(final, schedule, losses)


# --------------------------------------------------------------------------- samplers


Clip = Callable[[torch.Tensor], torch.Tensor]


def ddpm_sample(model: nn.Module, schedule: Schedule, n: int, dim: int, *, seed: int = 0,
                clip_x0: Clip | None = None, record: Sequence[int] = ()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Ancestral DDPM sampling, T steps from x_T ~ N(0, I) down to x_0.

    Each step predicts ε̂, forms x̂_0 (optionally clipped to the valid range with
    ``clip_x0``), then draws x_{t−1} from the Gaussian posterior q(x_{t−1} | x_t, x̂_0):
    mean = √ᾱ_{t−1} β_t/(1−ᾱ_t) · x̂_0 + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) · x_t, variance β_t (1−ᾱ_{t−1})/(1−ᾱ_t).
    Returns x_0 and ``{t: x_t}`` for the steps in ``record`` (T is the starting noise).
    """
    rng = torch.Generator().manual_seed(seed)
    betas, alphas, alpha_bar = schedule.betas, schedule.alphas, schedule.alpha_bar
    x = torch.randn(n, dim, generator=rng)
    trajectory = {schedule.T: x.clone()} if schedule.T in record else {}
    with torch.no_grad():
        for t in range(schedule.T, 0, -1):
            steps = torch.full((n,), t, dtype=torch.long)
            x0_hat = predict_x0(x, model(x, steps), alpha_bar[t])
            if clip_x0 is not None:
                x0_hat = clip_x0(x0_hat)
            previous = alpha_bar[t - 1]
            mean = (previous.sqrt() * betas[t] / (1 - alpha_bar[t])) * x0_hat + (
                alphas[t].sqrt() * (1 - previous) / (1 - alpha_bar[t])
            ) * x
            if t > 1:
                variance = betas[t] * (1 - previous) / (1 - alpha_bar[t])
                x = mean + variance.sqrt() * torch.randn(x.shape, generator=rng)
            else:
                x = mean
            if t - 1 in record:
                trajectory[t - 1] = x.clone()
    return x, trajectory


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` evenly spaced times from T down to 1 (both included when steps ≥ 2)."""
    if not 1 <= steps <= T:
        raise ValueError(f"the number of sampling steps must lie in 1..{T}; got {steps}.")
    return sorted({int(round(v)) for v in np.linspace(T, 1, steps)}, reverse=True)


def ddim_sample(model: nn.Module, schedule: Schedule, n: int, dim: int, steps: int, *, seed: int = 0,
                clip_x0: Clip | None = None) -> torch.Tensor:
    """Deterministic DDIM sampling (η = 0) with ``steps`` model calls instead of T.

    At each chosen time t it predicts x̂_0, then jumps straight to the next chosen time s:
    x_s = √ᾱ_s · x̂_0 + √(1 − ᾱ_s) · ε̂ (the noise it saw, re-used). The last jump lands on x_0.
    """
    rng = torch.Generator().manual_seed(seed)
    alpha_bar = schedule.alpha_bar
    times = ddim_timesteps(schedule.T, steps)
    x = torch.randn(n, dim, generator=rng)
    with torch.no_grad():
        for i, t in enumerate(times):
            eps = model(x, torch.full((n,), t, dtype=torch.long))
            x0_hat = predict_x0(x, eps, alpha_bar[t])
            if clip_x0 is not None:
                x0_hat = clip_x0(x0_hat)
                eps = (x - alpha_bar[t].sqrt() * x0_hat) / (1 - alpha_bar[t]).sqrt()
            following = alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
            x = following.sqrt() * x0_hat + (1 - following).sqrt() * eps
    return x


# --------------------------------------------------------------------------- a latent space for digits


class WhitenedPCA:
    """A linear autoencoder: the top ``k`` principal components, scaled to unit variance.

    ``encode`` maps images (N, 64) in [-1, 1] to codes (N, k) whose coordinates each have
    mean 0 and variance 1 over the training set (the scale diffusion's noise assumes);
    ``decode`` maps codes back to pixels. ``clip_x0`` decodes, clamps the pixels to
    [-1, 1] and encodes again: the latent version of "clip the predicted clean image".
    """

    def __init__(self, data: torch.Tensor, k: int = 16) -> None:
        if data.dim() != 2 or not 1 <= k <= min(data.shape):
            raise ValueError(f"WhitenedPCA needs data (N, D) and 1 ≤ k ≤ min(N, D); got {tuple(data.shape)}, k={k}.")
        self.k = k
        self.mean = data.mean(0)
        _, singular, vt = torch.linalg.svd(data - self.mean, full_matrices=False)
        self.components = vt[:k]
        self.scale = singular[:k] / math.sqrt(len(data) - 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) @ self.components.T / self.scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return (z * self.scale) @ self.components + self.mean

    def clip_x0(self, z: torch.Tensor) -> torch.Tensor:
        return self.encode(self.decode(z).clamp(-1.0, 1.0))

    def explained_variance(self, data: torch.Tensor) -> float:
        """Share of the data's variance the k components keep."""
        centred = data - self.mean
        return float((self.encode(data) * self.scale).pow(2).sum() / centred.pow(2).sum())


# --------------------------------------------------------------------------- figures


def schedules_figure(schedules: Sequence[Schedule], t: int | None = None) -> Figure:
    """ᾱ_t (signal kept) and β_t of several schedules, with an optional marker at time t."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3))
    for schedule in schedules:
        steps = np.arange(schedule.T + 1)
        left.plot(steps, schedule.alpha_bar.numpy(), label=schedule.name)
        right.plot(steps[1:], schedule.betas[1:].numpy(), label=schedule.name)
        if t is not None:
            left.plot([t], [float(schedule.alpha_bar[t])], "o", color=left.lines[-1].get_color())
    left.set_title("ᾱ_t: share of the signal's variance left", fontsize=10)
    left.set_xlabel("t")
    right.set_title("β_t: noise added at step t", fontsize=10)
    right.set_xlabel("t")
    right.set_yscale("log")
    left.legend()
    fig.tight_layout()
    return fig


def dissolve_figure(images: torch.Tensor, schedules: Sequence[Schedule], t: int, noise: torch.Tensor) -> Figure:
    """ᾱ_t curves with a marker at t, and the images at x_t under each schedule (same noise)."""
    n, rows = len(images), len(schedules)
    fig = plt.figure(figsize=(3.0 + 1.0 * n, 0.4 + 1.25 * rows))
    outer = fig.add_gridspec(1, 2, width_ratios=[3.0, 1.0 * n], wspace=0.12, left=0.08, right=0.99, bottom=0.16,
                             top=0.86)
    curve = fig.add_subplot(outer[0])
    pictures = outer[1].subgridspec(rows, n, wspace=0.05, hspace=0.3)
    for row, schedule in enumerate(schedules):
        curve.plot(np.arange(schedule.T + 1), schedule.alpha_bar.numpy(), label=schedule.name)
        curve.plot([t], [float(schedule.alpha_bar[t])], "o", color=curve.lines[-1].get_color())
        x_t = q_sample(images, t, noise, schedule)
        for col in range(n):
            ax = fig.add_subplot(pictures[row, col])
            ax.imshow(x_t[col].reshape(8, 8).numpy(), cmap="gray_r", vmin=-1.5, vmax=1.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if col == 0:
                ax.set_title(f"{schedule.name}, ᾱ_t = {float(schedule.alpha_bar[t]):.2f}", fontsize=8, loc="left")
    curve.axvline(t, color="k", lw=0.8, ls=":")
    curve.set_xlabel("t")
    curve.set_title(f"ᾱ_t, at t = {t}", fontsize=10)
    curve.legend(fontsize=8)
    return fig


def scatter_2d_figure(panels: Sequence[tuple[str, torch.Tensor]], data: torch.Tensor, limit: float = 1.6) -> Figure:
    """One panel per (title, points): the points in red over the real data in grey."""
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.5))
    for ax, (title, points) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.scatter(data[:1500, 0], data[:1500, 1], s=2, c="0.6")
        ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:red", alpha=0.35)
        plots.square_frame(ax, limit, title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- widget


class NoiseScheduleExplorer(Explorer):
    """A slider for t: see ᾱ_t of the linear and cosine schedules and the digits dissolve under both."""

    description = "a slider for the time step t"

    def __init__(self, images: torch.Tensor, schedules: Sequence[Schedule], *, t: int = 30, seed: int = 0) -> None:
        import ipywidgets as w

        if images.dim() != 2:
            raise ValueError(f"images must be flattened (N, 64) in [-1, 1]; got shape {tuple(images.shape)}.")
        self.images, self.schedules = images, list(schedules)
        self.noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
        T = self.schedules[0].T
        self.t = w.IntSlider(value=t, min=0, max=T, step=1, description="t", continuous_update=False)
        self.start(self.t)

    def figure(self) -> Figure:
        return dissolve_figure(self.images, self.schedules, int(self.t.value), self.noise)

    def on_redraw(self) -> None:
        t = int(self.t.value)
        parts = [f"{s.name}: ᾱ_t = {float(s.alpha_bar[t]):.3f}" for s in self.schedules]
        self.status.value = f"t = {t}; " + "; ".join(parts)
