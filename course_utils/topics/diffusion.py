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


def seeded_generator(seed: int) -> torch.Generator:
    """A fresh random stream for ``seed``. Under the seed sweep (``COURSE_SEED``) it moves with
    ``torch.manual_seed``, so training batches and sampling noise change from seed to seed too."""
    with runtime.seeded(seed):
        return torch.Generator().manual_seed(int(torch.randint(0, 2**62, ())))


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


def posterior(x0: torch.Tensor, x_t: torch.Tensor, t: int, schedule: Schedule) -> tuple[torch.Tensor, torch.Tensor]:
    """The forward process run backwards, given the clean data: q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I) with

    μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t  and
    β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t.   Returns ``(mean, variance)``; t in 1..T.
    """
    if not isinstance(t, int) or not 1 <= t <= schedule.T:
        raise ValueError(f"the posterior q(x_(t-1) | x_t, x_0) needs an int t in 1..{schedule.T}; got {t!r}.")
    if x0.shape != x_t.shape:
        raise ValueError(f"x0 and x_t must have the same shape; got {tuple(x0.shape)} and {tuple(x_t.shape)}.")
    beta, alpha = schedule.betas[t].to(x_t.dtype), schedule.alphas[t].to(x_t.dtype)
    now, previous = schedule.alpha_bar[t].to(x_t.dtype), schedule.alpha_bar[t - 1].to(x_t.dtype)
    mean = previous.sqrt() * beta / (1 - now) * x0 + alpha.sqrt() * (1 - previous) / (1 - now) * x_t
    return mean, (1 - previous) / (1 - now) * beta


def posterior_variances(schedule: Schedule) -> torch.Tensor:
    """β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t for t = 1..T, with index 0 set to 0 (length T + 1)."""
    ab = schedule.alpha_bar
    return torch.cat([torch.zeros(1), (1 - ab[:-1]) / (1 - ab[1:]) * schedule.betas[1:]])


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
    rng = seeded_generator(seed)
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
    ``clip_x0``), then draws x_{t−1} from the posterior q(x_{t−1} | x_t, x̂_0) = N(μ̃_t, β̃_t I)
    (``posterior``): the variance is β̃_t, not β_t; the last step adds no noise.
    Returns x_0 and ``{t: x_t}`` for the steps in ``record`` (T is the starting noise).
    """
    rng = seeded_generator(seed)
    alpha_bar = schedule.alpha_bar
    x = torch.randn(n, dim, generator=rng)
    trajectory = {schedule.T: x.clone()} if schedule.T in record else {}
    with torch.no_grad():
        for t in range(schedule.T, 0, -1):
            x0_hat = predict_x0(x, model(x, torch.full((n,), t, dtype=torch.long)), alpha_bar[t])
            if clip_x0 is not None:
                x0_hat = clip_x0(x0_hat)
            mean, variance = posterior(x0_hat, x, t, schedule)
            x = mean + variance.sqrt() * torch.randn(x.shape, generator=rng) if t > 1 else mean
            if t - 1 in record:
                trajectory[t - 1] = x.clone()
    return x, trajectory


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` evenly spaced times from T down to 1 (both included when steps ≥ 2)."""
    if not 1 <= steps <= T:
        raise ValueError(f"the number of sampling steps must lie in 1..{T}; got {steps}.")
    return sorted({int(round(v)) for v in np.linspace(T, 1, steps)}, reverse=True)


def _check_eta(eta: float) -> float:
    if not isinstance(eta, (int, float)) or not 0.0 <= float(eta) <= 1.0:
        raise ValueError(f"DDIM's η must be a number in [0, 1] (0: deterministic, 1: DDPM-like noise); got {eta!r}.")
    return float(eta)


def ddim_sigma(alpha_bar_t: torch.Tensor | float, alpha_bar_s: torch.Tensor | float, eta: float) -> torch.Tensor:
    """The noise DDIM adds when it jumps from time t to s < t:
    σ = η · √((1 − ᾱ_s)/(1 − ᾱ_t)) · √(1 − ᾱ_t/ᾱ_s). With η = 1 and s = t − 1, σ² = β̃_t."""
    eta = _check_eta(eta)
    ab_t, ab_s = torch.as_tensor(alpha_bar_t), torch.as_tensor(alpha_bar_s)
    return eta * ((1 - ab_s) / (1 - ab_t)).sqrt() * (1 - ab_t / ab_s).clamp_min(0).sqrt()


def ddim_step(x_t: torch.Tensor, eps_hat: torch.Tensor, alpha_bar_t: torch.Tensor | float,
              alpha_bar_s: torch.Tensor | float, eta: float, z: torch.Tensor | None = None) -> torch.Tensor:
    """One DDIM jump from x_t to x_s:  x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s − σ²) ε̂ + σ z  (``z`` ~ N(0, I)).

    The fresh noise σ z takes the place of part of ε̂, so x_s keeps the variance 1 − ᾱ_s of
    q(x_s | x_0). ``z`` may be None only when σ = 0 (η = 0, or a jump to s = 0).
    """
    ab_t = torch.as_tensor(alpha_bar_t, dtype=x_t.dtype)
    ab_s = torch.as_tensor(alpha_bar_s, dtype=x_t.dtype)
    sigma = ddim_sigma(ab_t, ab_s, eta).to(x_t.dtype)
    x0_hat = predict_x0(x_t, eps_hat, ab_t)
    x_s = ab_s.sqrt() * x0_hat + (1 - ab_s - sigma**2).clamp_min(0).sqrt() * eps_hat
    if float(sigma) > 0:
        if z is None or z.shape != x_t.shape:
            raise ValueError(f"with σ > 0 (η = {eta}) the step needs noise z of shape {tuple(x_t.shape)}.")
        x_s = x_s + sigma * z
    return x_s


def ddim_sample(model: nn.Module, schedule: Schedule, n: int, dim: int, steps: int, *, eta: float = 0.0,
                seed: int = 0, clip_x0: Clip | None = None) -> torch.Tensor:
    """DDIM sampling with ``steps`` model calls instead of T (``ddim_step`` at each chosen time).

    η = 0 (the default) is deterministic: each jump re-uses the noise ε̂ it saw. η = 1 adds the
    posterior's noise; with all T steps it is exactly ``ddpm_sample`` (same seed, same samples).
    The last jump lands on x_0.
    """
    eta = _check_eta(eta)
    rng = seeded_generator(seed)
    alpha_bar = schedule.alpha_bar
    times = ddim_timesteps(schedule.T, steps)
    x = torch.randn(n, dim, generator=rng)
    with torch.no_grad():
        for i, t in enumerate(times):
            eps = model(x, torch.full((n,), t, dtype=torch.long))
            if clip_x0 is not None:
                x0_hat = clip_x0(predict_x0(x, eps, alpha_bar[t]))
                eps = (x - alpha_bar[t].sqrt() * x0_hat) / (1 - alpha_bar[t]).sqrt()
            following = alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
            noisy = eta > 0 and i + 1 < len(times)
            z = torch.randn(x.shape, generator=rng) if noisy else None
            x = ddim_step(x, eps, alpha_bar[t], following, eta, z)
    return x


# --------------------------------------------------------------------------- scores


def model_score(model: nn.Module, x: torch.Tensor, t: int, schedule: Schedule) -> torch.Tensor:
    """The score an ε-predictor implies: ∇ log q_t(x) ≈ −ε̂_θ(x, t) / √(1 − ᾱ_t)."""
    if not isinstance(t, int) or not 1 <= t <= schedule.T:
        raise ValueError(f"t must be an int in 1..{schedule.T}; got {t!r}.")
    with torch.no_grad():
        return -model(x, torch.full((len(x),), t, dtype=torch.long)) / (1 - schedule.alpha_bar[t]).sqrt()


def mixture_log_density(x: torch.Tensor, centres: torch.Tensor, std: float, alpha_bar: torch.Tensor | float) -> torch.Tensor:
    """log q_t(x) for data from an equal mixture of Gaussians N(μ_k, std² I), noised to ᾱ_t:
    q_t = mean_k N(√ᾱ_t μ_k, (ᾱ_t std² + 1 − ᾱ_t) I)."""
    ab = torch.as_tensor(alpha_bar, dtype=x.dtype)
    variance = ab * std**2 + 1 - ab
    squared = (x[:, None, :] - ab.sqrt() * centres.to(x.dtype)[None]).pow(2).sum(-1)
    d = x.shape[1]
    return (torch.logsumexp(-squared / (2 * variance), dim=1) - math.log(len(centres))
            - d / 2 * torch.log(2 * math.pi * variance))


def mixture_score(x: torch.Tensor, centres: torch.Tensor, std: float, alpha_bar: torch.Tensor | float) -> torch.Tensor:
    """The exact score ∇ log q_t(x) of the noised mixture (see ``mixture_log_density``), in closed form:
    −Σ_k r_k(x) (x − √ᾱ_t μ_k) / (ᾱ_t std² + 1 − ᾱ_t), with r_k(x) the posterior weight of mode k."""
    ab = torch.as_tensor(alpha_bar, dtype=x.dtype)
    variance = ab * std**2 + 1 - ab
    gaps = x[:, None, :] - ab.sqrt() * centres.to(x.dtype)[None]
    weights = torch.softmax(-gaps.pow(2).sum(-1) / (2 * variance), dim=1)
    return -(weights[..., None] * gaps).sum(1) / variance


def mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean cosine similarity between two vector fields given at the same points (rows)."""
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"mean_cosine needs two (N, D) fields of the same shape; got {tuple(a.shape)}, {tuple(b.shape)}.")
    return float(F.cosine_similarity(a.double(), b.double(), dim=1).mean())


# --------------------------------------------------------------------------- judging with a spread over seeds


@dataclass(frozen=True)
class Spread:
    """The judge's scores of several batches of samples (one per sample seed): mean ± standard deviation."""

    runs: tuple  # of judge.JudgeScores

    def _values(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.runs], dtype=np.float64)

    def mean(self, name: str) -> float:
        """Mean over the batches of ``confidence``, ``min_class_fraction`` or ``frechet``."""
        return float(self._values(name).mean())

    def std(self, name: str) -> float:
        """Sample standard deviation over the batches (0 for a single batch)."""
        values = self._values(name)
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def worst(self, name: str) -> float:
        """The lowest value over the batches (for the Fréchet distance, where lower is better, the highest)."""
        values = self._values(name)
        return float(values.max() if name == "frechet" else values.min())


def judge_batches(batches: Sequence[torch.Tensor], score: Callable | None = None) -> Spread:
    """Judge each batch of images in [0, 1] (``score`` defaults to ``course_utils.judge.score``)."""
    if not batches:
        raise ValueError("judge_batches needs at least one batch of images.")
    if score is None:
        from course_utils import judge

        score = judge.score
    return Spread(tuple(score(batch) for batch in batches))


def spread_table(rows: dict[str, Spread]) -> str:
    """A plain-text table, one row per named ``Spread``: mean ± std of each judge score (± 0 is left out)."""
    if not rows:
        raise ValueError("spread_table needs at least one named Spread.")
    width = max(12, *(len(name) for name in rows))

    def cell(spread: Spread, name: str, digits: int) -> str:
        text = f"{spread.mean(name):.{digits}f}"
        return text + (f" ± {spread.std(name):.{digits}f}" if len(spread.runs) > 1 else "")

    lines = [f"{'':<{width}}  {'confidence':>15}  {'rarest class':>15}  {'Fréchet distance':>17}   batches"]
    for name, spread in rows.items():
        lines.append(f"{name:<{width}}  {cell(spread, 'confidence', 3):>15}  {cell(spread, 'min_class_fraction', 3):>15}"
                     f"  {cell(spread, 'frechet', 2):>17}   {len(spread.runs)} × {spread.runs[0].n_samples}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- DDIM's η on digits


@dataclass(frozen=True)
class DDIMResult:
    """Samples (pixels in [0, 1]) and the judge's scores for one (η, steps) setting."""

    eta: float
    steps: int
    images: torch.Tensor
    scores: object  # judge.JudgeScores


class DDIMGrid:
    """DDIM samples of one trained model for settings (η, steps), computed when first asked for, then kept.

    ``decode`` maps the model's outputs to images in [0, 1]; every setting starts from the same noise
    (``seed``) and is judged on ``n`` samples (``score`` defaults to ``course_utils.judge.score``).
    """

    def __init__(self, model: nn.Module, schedule: Schedule, decode: Callable[[torch.Tensor], torch.Tensor], *,
                 n: int, dim: int, seed: int = 1, clip_x0: Clip | None = None,
                 step_counts: Sequence[int] = (5, 10, 20, 50, 100), score: Callable | None = None) -> None:
        if n < 1 or not step_counts:
            raise ValueError(f"DDIMGrid needs n ≥ 1 and at least one step count; got n={n}, {tuple(step_counts)}.")
        for steps in step_counts:
            ddim_timesteps(schedule.T, steps)  # raises for a bad count
        if score is None:
            from course_utils import judge

            score = judge.score
        self.model, self.schedule, self.decode, self.score = model, schedule, decode, score
        self.n, self.dim, self.seed, self.clip_x0 = n, dim, seed, clip_x0
        self.step_counts = tuple(int(s) for s in step_counts)
        self.results: dict[tuple[float, int], DDIMResult] = {}

    def result(self, eta: float, steps: int) -> DDIMResult:
        key = (round(_check_eta(eta), 6), int(steps))
        if key not in self.results:
            out = ddim_sample(self.model, self.schedule, self.n, self.dim, key[1], eta=key[0], seed=self.seed,
                              clip_x0=self.clip_x0)
            images = self.decode(out)
            self.results[key] = DDIMResult(key[0], key[1], images, self.score(images))
        return self.results[key]

    def curve(self, eta: float, name: str = "frechet") -> list[float]:
        """One judge score for every step count at this η (computes what is missing)."""
        return [getattr(self.result(eta, steps).scores, name) for steps in self.step_counts]

    def table(self, etas: Sequence[float] = (0.0, 1.0)) -> str:
        lines = [f"{'':<16}  confidence  rarest class  Fréchet distance"]
        for eta in etas:
            for steps in self.step_counts:
                s = self.result(eta, steps).scores
                lines.append(f"{f'η = {eta:g}, {steps:>3} steps':<16}  {s.confidence:>10.4f}  {s.min_class_fraction:>12.4f}"
                             f"  {s.frechet:>16.4f}")
        return "\n".join(lines)


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


def posterior_figure(x0: float, x_t: float, t: int, schedule: Schedule, grid: torch.Tensor) -> Figure:
    """1-D: the two Gaussians in x_{t−1} whose product is the posterior, and the posterior itself."""
    g = grid.double()
    ab_prev, alpha, beta = (float(schedule.alpha_bar[t - 1]), float(schedule.alphas[t]), float(schedule.betas[t]))

    def normal(mean: float, var: float) -> np.ndarray:
        return (torch.exp(-(g - mean) ** 2 / (2 * var)) / math.sqrt(2 * math.pi * var)).numpy()

    mean, var = posterior(torch.tensor([x0], dtype=torch.float64), torch.tensor([x_t], dtype=torch.float64), t, schedule)
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    ax.plot(g, normal(math.sqrt(ab_prev) * x0, 1 - ab_prev), label="q(x_{t−1} | x_0): where x_0 puts it")
    ax.plot(g, normal(x_t / math.sqrt(alpha), beta / alpha), label="q(x_t | x_{t−1}) as a function of x_{t−1} (rescaled)")
    ax.plot(g, normal(float(mean), float(var)), "k", lw=2, label="posterior q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t)")
    ax.axvline(x0, color="0.5", ls=":", lw=1)
    ax.set_xlabel("x_{t−1}")
    ax.set_title(f"t = {t}: x_0 = {x0:g}, x_t = {x_t:g}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def score_field_figure(model: nn.Module, schedule: Schedule, centres: torch.Tensor, std: float,
                       times: Sequence[int], *, limit: float = 1.6, n_grid: int = 15) -> Figure:
    """Arrows of the learned score −ε̂/√(1 − ᾱ_t) (top row) and of the exact score of the noised
    mixture (bottom row) on a grid, at several t; all arrows have unit length (direction only),
    over the exact density q_t in grey."""
    axis = torch.linspace(-limit, limit, n_grid)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    fine = torch.linspace(-limit, limit, 121)
    fx, fy = torch.meshgrid(fine, fine, indexing="xy")
    fine_points = torch.stack([fx.reshape(-1), fy.reshape(-1)], dim=1).double()
    fig, axes = plt.subplots(2, len(times), figsize=(2.5 * len(times), 5.0), squeeze=False)
    for col, t in enumerate(times):
        ab = schedule.alpha_bar[t]
        density = mixture_log_density(fine_points, centres, std, ab.double()).exp().reshape(121, 121)
        fields = {"learned −ε̂/√(1 − ᾱ_t)": model_score(model, points, t, schedule),
                  "exact ∇ log q_t": mixture_score(points.double(), centres, std, ab.double()).float()}
        for row, (name, arrows) in enumerate(fields.items()):
            ax = axes[row, col]
            ax.imshow(density.numpy(), extent=(-limit, limit, -limit, limit), origin="lower", cmap="Greys",
                      alpha=0.6)
            unit = arrows / arrows.norm(dim=1, keepdim=True).clamp_min(1e-12)
            ax.quiver(points[:, 0], points[:, 1], unit[:, 0], unit[:, 1], color="tab:red" if row == 0 else "tab:blue",
                      angles="xy", scale_units="xy", scale=n_grid / (2 * limit) * 1.6, width=0.006)
            plots.square_frame(ax, limit, f"{name}\nt = {t}, ᾱ_t = {float(ab):.2f}")
            ax.title.set_fontsize(8)
            ax.grid(False)
    fig.tight_layout()
    return fig


def ddim_figure(grid: DDIMGrid, current: DDIMResult, *, n_show: int = 32, reference: float | None = None) -> Figure:
    """Left: samples of the current (η, steps); right: Fréchet distance against steps for η = 0 and η = 1
    (and the current η), the current setting marked."""
    fig = plt.figure(figsize=(9.0, 3.0))
    outer = fig.add_gridspec(1, 2, width_ratios=[1.1, 1.0], wspace=0.25, left=0.02, right=0.98, bottom=0.17, top=0.88)
    pictures = fig.add_subplot(outer[0])
    images = current.images[:n_show].reshape(-1, 8, 8)
    cols = 8
    rows = math.ceil(len(images) / cols)
    canvas = torch.ones(rows * 9 - 1, cols * 9 - 1)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = image
    pictures.imshow(canvas.numpy(), cmap="gray_r", vmin=0, vmax=1)
    pictures.set_xticks([])
    pictures.set_yticks([])
    pictures.grid(False)
    pictures.set_title(f"η = {current.eta:g}, {current.steps} steps: {n_show} of {len(current.images)} samples",
                       fontsize=9)
    curve = fig.add_subplot(outer[1])
    for eta, style in ((0.0, "o-"), (1.0, "s-")):
        curve.plot(grid.step_counts, grid.curve(eta), style, label=f"η = {eta:g}")
    if current.eta not in (0.0, 1.0):  # only the settings already sampled, so a slider move costs one setting
        seen = sorted(steps for (eta, steps) in grid.results if eta == current.eta)
        curve.plot(seen, [grid.results[(current.eta, steps)].scores.frechet for steps in seen], "^-",
                   label=f"η = {current.eta:g} (settings tried)")
    curve.plot([current.steps], [current.scores.frechet], "k*", ms=12, label="current setting")
    if reference is not None:
        curve.axhline(reference, color="tab:red", ls="--", lw=1, label="Gaussian in latent")
    curve.set_xscale("log")
    curve.set_xticks(grid.step_counts, [str(n) for n in grid.step_counts])
    curve.set_xlabel("sampling steps (network calls)")
    curve.set_title(f"Fréchet distance, {grid.n} samples (lower is better)", fontsize=9)
    curve.legend(fontsize=7)
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


class DDIMExplorer(Explorer):
    """DDIM's η and the number of sampling steps: the samples and the judge's scores of each setting."""

    description = "a slider for DDIM's η and one for the number of sampling steps"

    def __init__(self, grid: DDIMGrid, *, eta: float = 0.0, steps: int = 20, reference: float | None = None) -> None:
        import ipywidgets as w

        if not isinstance(grid, DDIMGrid):
            raise ValueError(f"DDIMExplorer needs a DDIMGrid (the trained model and its decoder); got {type(grid).__name__}.")
        if steps not in grid.step_counts:
            raise ValueError(f"steps must be one of the grid's step counts {grid.step_counts}; got {steps!r}.")
        self.grid, self.reference = grid, reference
        self.eta = w.FloatSlider(value=_check_eta(eta), min=0.0, max=1.0, step=0.25, description="η",
                                 continuous_update=False)
        self.steps = w.SelectionSlider(options=list(grid.step_counts), value=steps, description="steps",
                                       continuous_update=False)
        self.start((self.eta, self.steps))

    def figure(self) -> Figure:
        self.current = self.grid.result(float(self.eta.value), int(self.steps.value))
        return ddim_figure(self.grid, self.current, reference=self.reference)

    def on_redraw(self) -> None:
        s = self.current.scores
        kind = "deterministic" if self.current.eta == 0 else "stochastic"
        self.status.value = (f"η = {self.current.eta:g} ({kind}), {self.current.steps} steps: judge confidence "
                             f"{s.confidence:.3f}, rarest digit {s.min_class_fraction:.3f}, Fréchet distance "
                             f"{s.frechet:.2f} on {s.n_samples} samples")
