"""GAN helpers for notebook 11: models (also class-conditional ones), the two losses, a training
loop that keeps its history, judge scores over several sample seeds, figures and the ring widget.

The math lives in small pure functions (``discriminator_loss``, ``generator_loss``,
``train_gan``...); the widget (``RingGANExplorer``) is a thin shell that calls them.
Training runs inside ``runtime.seeded(seed)``, which uses its own random stream, so a run
gives the same result whenever it is called and leaves the notebook's random state
untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn
from torch.optim.swa_utils import AveragedModel

from course_utils import cache, models, plots, runtime
from course_utils.data.rings import Coverage, mode_coverage
from course_utils.widgets import Explorer

LN2 = math.log(2.0)
GAN_ACTIVATIONS = ("relu", "leaky_relu")  # leaky_relu has slope 0.2, as in DCGAN
SNAPSHOT_SEED_OFFSET = 10_000


# --------------------------------------------------------------------------- models


class MinibatchStd(nn.Module):
    """Append one feature: the average (over features) of the standard deviation across the batch.

    A simple form of minibatch discrimination (Karras et al., 2018): a discriminator that
    sees how varied a batch is can tell a collapsed generator's batch (all alike) from a
    real one, so collapse stops paying off for the generator.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.std(dim=0, unbiased=False).mean()
        return torch.cat([x, spread.expand(len(x), 1)], dim=1)


def make_generator(latent_dim: int, hidden: Sequence[int], out_dim: int, *, activation: str = "relu",
                   tanh: bool = False) -> nn.Sequential:
    """z (N, latent_dim) -> sample (N, out_dim); with ``tanh=True`` outputs lie in (-1, 1)."""
    net = models.mlp([latent_dim, *hidden, out_dim], activation, allowed=GAN_ACTIVATIONS)
    return nn.Sequential(*net, nn.Tanh()) if tanh else net


def make_discriminator(in_dim: int, hidden: Sequence[int], *, activation: str = "relu",
                       minibatch_std: bool = False) -> nn.Sequential:
    """sample (N, in_dim) -> one raw score (logit) per sample, shape (N, 1). No sigmoid."""
    net = models.mlp([in_dim + int(minibatch_std), *hidden, 1], activation, allowed=GAN_ACTIVATIONS)
    return nn.Sequential(MinibatchStd(), *net) if minibatch_std else net


class Conditional(nn.Module):
    """A network that also gets a class label: ``net(cat([x, one_hot(labels)]))``.

    The simplest conditional GAN (Mirza & Osindero, 2014): the generator sees (z, label), the
    discriminator sees (image, label), so D can reject a good "3" that was asked to be a "7".
    """

    def __init__(self, net: nn.Module, n_classes: int) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a conditional network needs at least 2 classes; got n_classes={n_classes}.")
        self.net, self.n_classes = net, n_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.shape != (len(x),):
            raise ValueError(f"give one class label per row: labels of shape ({len(x)},); got {tuple(labels.shape)}.")
        if labels.dtype != torch.int64:
            raise ValueError(f"labels must be class numbers of dtype torch.int64 (torch.long); got {labels.dtype}.")
        if not bool(((labels >= 0) & (labels < self.n_classes)).all()):
            raise ValueError(f"labels must lie in [0, {self.n_classes}); got values from {labels.min().item()} "
                             f"to {labels.max().item()}.")
        return self.net(torch.cat([x, F.one_hot(labels, self.n_classes).to(x.dtype)], dim=1))


def build_models(config: GANConfig, out_dim: int) -> tuple[nn.Module, nn.Module]:
    """G and D as ``train_gan`` builds them (wrapped in ``Conditional`` when ``config.n_classes`` > 0)."""
    c, k = config, config.n_classes
    generator = make_generator(c.latent_dim + k, c.g_hidden, out_dim, activation=c.activation, tanh=c.tanh)
    discriminator = make_discriminator(out_dim + k, c.d_hidden, activation=c.activation, minibatch_std=c.minibatch_std)
    if k:
        return Conditional(generator, k), Conditional(discriminator, k)
    return generator, discriminator


# --------------------------------------------------------------------------- losses


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """BCE on logits: real samples should score ``real_label`` (1), fakes 0. The sum of both terms.

    At the equilibrium with ``real_label`` 1, D(x) = 0.5 everywhere and each term is ln 2 ≈ 0.693, so this
    is ≈ 1.386; with a smoothed label y < 1 the equilibrium moves (see ``equilibrium``).
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


class Equilibrium(NamedTuple):
    """D's constant output and both losses when G matches the data exactly (see ``equilibrium``)."""

    d_output: float
    d_loss: float
    g_loss: float


def equilibrium(real_label: float = 1.0) -> Equilibrium:
    """The equilibrium of ``discriminator_loss`` / ``generator_loss`` when real samples are labelled y.

    If p_G = p_data, D cannot tell the two apart and outputs one value d everywhere. Its loss
    L_D(d) = −[y ln d + (1 − y) ln(1 − d)] − ln(1 − d) is smallest at d* = y / 2, where
    L_D = −y ln(y/2) − (2 − y) ln(1 − y/2) and the non-saturating L_G = −ln(y/2).
    y = 1 gives 0.5, 2 ln 2 and ln 2; y = 0.9 gives 0.45, ≈ 1.376 and ≈ 0.799.
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1] (1 = no smoothing, 0.9 = one-sided smoothing); got {real_label!r}.")
    d = real_label / 2
    d_loss = -real_label * math.log(d) - (2 - real_label) * math.log(1 - d)
    return Equilibrium(d, d_loss, -math.log(d))


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: −mean log D(G(z)) = BCE with target 1 ("call the fakes real")."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss, mean log(1 − D(G(z))), to be minimised (it saturates early on)."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN run (the defaults are the ring GAN of notebook 11)."""

    latent_dim: int = 2
    g_hidden: tuple[int, ...] = (64, 64)
    d_hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    tanh: bool = False
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 128
    steps: int = 1500
    real_label: float = 1.0
    minibatch_std: bool = False
    ema: float = 0.0
    n_classes: int = 0  # > 0: a conditional GAN, G and D get the class label (one-hot)

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch_size < 1:
            raise ValueError(f"steps must be ≥ 0 and batch_size ≥ 1; got {self.steps}, {self.batch_size}.")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError(f"learning rates must be positive; got lr_g={self.lr_g}, lr_d={self.lr_d}.")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema is a decay in [0, 1); got {self.ema}.")
        if self.n_classes < 0 or self.n_classes == 1:
            raise ValueError(f"n_classes is 0 (unconditional) or at least 2; got {self.n_classes}.")


DIGITS_CONFIG = GANConfig(
    latent_dim=16, g_hidden=(128, 256), d_hidden=(256, 128), activation="leaky_relu", tanh=True,
    lr_g=1e-3, lr_d=1e-3, batch_size=64, steps=2000, real_label=0.9, ema=0.99,
)


@dataclass
class GANRun:
    """A trained GAN with its history.

    ``history`` has one value per step for ``d_loss``, ``g_loss``, ``d_real`` (mean
    D output on real data) and ``d_fake`` (mean D output on fakes), measured before
    that step's updates. ``snapshots[step]`` holds samples of the fixed noise
    ``fixed_z`` after ``step`` steps (from the averaged generator when ``ema`` > 0); for a
    conditional GAN with the labels ``fixed_labels`` (0, 1, ..., 9, 0, 1, ...).
    """

    config: GANConfig
    generator: nn.Module
    discriminator: nn.Module
    averaged_generator: AveragedModel | None
    fixed_z: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    fixed_labels: torch.Tensor | None = None

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples: the weight average if there is one."""
        return self.averaged_generator.module if self.averaged_generator is not None else self.generator

    def sample(self, n: int, seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples from fresh noise drawn with ``seed`` (a conditional GAN needs ``labels``, shape (n,))."""
        return sample(self.sampler, n, self.config.latent_dim, seed, labels=labels)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples for given latent vectors ``z`` (N, latent_dim) (and class labels, for a conditional GAN)."""
        with torch.no_grad():
            return _call(self.sampler, z, labels)


def _call(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """G(z) or G(z, labels), with a clear error when the labels do not fit the generator."""
    conditional = isinstance(generator, Conditional)
    if conditional and labels is None:
        raise ValueError("this is a conditional generator: pass labels, one class per sample (e.g. torch.arange(n) % 10).")
    if not conditional and labels is not None:
        raise ValueError("this generator is not conditional: it takes no labels.")
    return generator(z, labels) if conditional else generator(z)


def train_gan(data: torch.Tensor, config: GANConfig = GANConfig(), *, seed: int = 0,
              snapshot_steps: Sequence[int] = (), n_snapshot: int = 1000,
              labels: torch.Tensor | None = None) -> GANRun:
    """Train a GAN on ``data`` (N, D) with alternating D and G Adam steps; deterministic for a seed.

    Each step: draw a real batch and a fake batch; update D with ``discriminator_loss``
    on the real logits and the *detached* fake logits; then update G with the
    non-saturating ``generator_loss`` on the updated D's logits for the same fakes.

    With ``config.n_classes`` > 0 (a conditional GAN) pass the class ``labels`` (N,) of the data:
    each fake is asked for the label of the real digit drawn with it, so the requested classes
    follow the data's class shares, and D judges every (image, label) pair.
    """
    if not isinstance(data, torch.Tensor) or data.dim() != 2:
        raise ValueError(f"train_gan needs data of shape (N, D); got {getattr(data, 'shape', type(data))}.")
    c = config
    if (labels is not None) != (c.n_classes > 0):
        raise ValueError("pass labels exactly when config.n_classes > 0 (a conditional GAN); "
                         f"got n_classes={c.n_classes} and labels={'given' if labels is not None else None}.")
    if labels is not None and labels.shape != (len(data),):
        raise ValueError(f"labels must have one entry per row of data, shape ({len(data)},); got {tuple(labels.shape)}.")
    bad_snapshots = [s for s in snapshot_steps if not 0 <= s <= c.steps]
    if bad_snapshots:
        raise ValueError(f"snapshot steps must lie in [0, {c.steps}]; got {bad_snapshots}.")
    dim = data.shape[1]
    with runtime.seeded(seed):
        generator, discriminator = build_models(c, dim)
    averaged = models.moving_average(generator, c.ema) if c.ema > 0 else None
    rng = torch.Generator().manual_seed(seed)
    fixed_z = snapshot_noise(n_snapshot, c.latent_dim, seed)
    fixed_labels = torch.arange(n_snapshot) % c.n_classes if c.n_classes else None
    # foreach=False: for these small CPU models the plain per-parameter loop is faster (measured)
    opt_g = torch.optim.Adam(generator.parameters(), lr=c.lr_g, betas=c.betas, foreach=False)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=c.lr_d, betas=c.betas, foreach=False)
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    run = GANRun(c, generator, discriminator, averaged, fixed_z, history, {}, fixed_labels)
    wanted = set(snapshot_steps)

    def snapshot(step: int) -> None:
        if step in wanted:
            run.snapshots[step] = run.generate(fixed_z, fixed_labels).clone()

    snapshot(0)
    for step in range(1, c.steps + 1):
        index = torch.randint(0, len(data), (c.batch_size,), generator=rng)
        real = data[index]
        z = torch.randn(c.batch_size, c.latent_dim, generator=rng)
        if labels is None:
            fake = generator(z)
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        else:
            wanted_labels = labels[index]  # fakes are asked for the classes of this real batch
            fake = generator(z, wanted_labels)
            real_logits = discriminator(real, wanted_labels)
            fake_logits = discriminator(fake.detach(), wanted_labels)
        d_loss = discriminator_loss(real_logits, fake_logits, c.real_label)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = generator_loss(discriminator(fake) if labels is None else discriminator(fake, wanted_labels))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if averaged is not None:
            averaged.update_parameters(generator)
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        history["d_real"].append(torch.sigmoid(real_logits.detach()).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits.detach()).mean().item())
        if not math.isfinite(history["d_loss"][-1]) or not math.isfinite(history["g_loss"][-1]):
            raise FloatingPointError(f"GAN training diverged at step {step}: lower the learning rates.")
        snapshot(step)
    return run


def sample(generator: nn.Module, n: int, latent_dim: int, seed: int = 0, *,
           labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples of a generator from standard normal noise drawn with ``seed``
    (a conditional generator also needs the requested class of each sample, ``labels`` of shape (n,))."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return _call(generator, z, labels)


def snapshot_noise(n: int, latent_dim: int, seed: int = 0) -> torch.Tensor:
    """The fixed noise of ``train_gan``'s snapshots: its own stream, so it never changes the training."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(SNAPSHOT_SEED_OFFSET + seed))


def untrained_generator(config: GANConfig, out_dim: int, seed: int = 0) -> nn.Module:
    """The generator exactly as ``train_gan`` would start it (the baseline for 'no training')."""
    with runtime.seeded(seed):
        return build_models(config, out_dim)[0]


def interpolate_latents(z0: torch.Tensor, z1: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` evenly spaced points on the straight line from ``z0`` to ``z1``, both ends included; (n, D)."""
    if z0.shape != z1.shape or z0.dim() != 1:
        raise ValueError(f"z0 and z1 must be two vectors of the same length; got {tuple(z0.shape)}, {tuple(z1.shape)}.")
    if n < 2:
        raise ValueError(f"n must be at least 2 (the two ends); got {n}.")
    weights = torch.linspace(0.0, 1.0, n, dtype=z0.dtype)[:, None]
    return (1 - weights) * z0 + weights * z1


def to_pixels(samples: torch.Tensor) -> torch.Tensor:
    """Map Tanh outputs in [-1, 1] to pixel intensities in [0, 1]."""
    return ((samples + 1) / 2).clamp(0, 1)


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average (valid part only), to read noisy per-step curves."""
    array = np.asarray(values, dtype=float)
    if window <= 1 or len(array) < window:
        return array
    return np.convolve(array, np.ones(window) / window, mode="valid")


def sampler_cache_path(data: torch.Tensor, config: GANConfig, seed: int = 0,
                       labels: torch.Tensor | None = None) -> Path:
    """Where ``save_sampler`` keeps the trained sampler of ``train_gan(data, config, seed=seed, labels=labels)``.

    The file name hashes everything that decides the result: the configuration, the seed,
    the data (and labels), this module's code and the machine's float fingerprint (``cache.path_for``).
    """
    key = {"config": asdict(config), "seed": seed, "data": cache.digest(data)}
    if labels is not None:
        key["labels"] = cache.digest(labels)
    return cache.path_for("gan", key, __file__, models.__file__)


def save_sampler(run: GANRun, data: torch.Tensor, seed: int = 0, labels: torch.Tensor | None = None) -> Path | None:
    """Keep a trained run's sampler in the temporary folder (atomically); None when not writable."""
    return cache.save(run.sampler.state_dict(), sampler_cache_path(data, run.config, seed, labels))


def trained_sampler(data: torch.Tensor, config: GANConfig, seed: int = 0, *, use_disk_cache: bool = True,
                    labels: torch.Tensor | None = None) -> nn.Module:
    """The sampler of ``train_gan(data, config, seed=seed, labels=labels)``: loaded from the cache when that
    exact run was saved (``torch.load(weights_only=True)``), else trained now (and saved)."""
    state = cache.load(sampler_cache_path(data, config, seed, labels)) if use_disk_cache else None
    if state is not None:
        generator = untrained_generator(config, data.shape[1], seed)
        try:
            generator.load_state_dict(state)
            return generator.eval()
        except Exception:  # a file of another shape: train again and overwrite it
            pass
    run = train_gan(data, config, seed=seed, labels=labels)
    if use_disk_cache:
        save_sampler(run, data, seed, labels)
    return run.sampler.eval()


# --------------------------------------------------------------------------- judging over sample seeds


@dataclass(frozen=True)
class Spread:
    """One judge score over several sample seeds: mean, standard deviation, worst and best seed.

    Formats as "mean ± std": ``f"{spread:.3f}"`` gives e.g. ``0.842 ± 0.011`` (default 2 decimals).
    """

    mean: float
    std: float
    worst: float
    best: float

    def __format__(self, spec: str) -> str:
        """``spec`` as for a float, e.g. ``">16.2f"``: the precision applies to both numbers, the width to the whole."""
        cut = spec.find(".")
        pad, number = (spec, ".2f") if cut < 0 else (spec[:cut], spec[cut:])
        return format(f"{self.mean:{number}} ± {self.std:{number}}", pad)

    def __str__(self) -> str:
        return format(self)


@dataclass(frozen=True)
class SeedScores:
    """The judge's scores of one generator for several sample seeds (each batch of ``n_samples``)."""

    n_samples: int
    scores: tuple  # of judge.JudgeScores, one per seed

    def _spread(self, values: list[float], higher_is_better: bool) -> Spread:
        array = np.asarray(values, dtype=float)
        worst, best = (array.min(), array.max()) if higher_is_better else (array.max(), array.min())
        std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
        return Spread(float(array.mean()), std, float(worst), float(best))

    @property
    def frechet(self) -> Spread:
        return self._spread([s.frechet for s in self.scores], higher_is_better=False)

    @property
    def confidence(self) -> Spread:
        return self._spread([s.confidence for s in self.scores], higher_is_better=True)

    @property
    def rarest_class(self) -> Spread:
        return self._spread([s.min_class_fraction for s in self.scores], higher_is_better=True)


def score_over_seeds(make_samples: Callable[[int], torch.Tensor], seeds: Sequence[int]) -> SeedScores:
    """Judge ``make_samples(seed)`` (pixels in [0, 1]) for each seed; all batches must have the same size."""
    from course_utils import judge

    if len(seeds) == 0:
        raise ValueError("score_over_seeds needs at least one seed.")
    scores = tuple(judge.score(make_samples(seed)) for seed in seeds)
    sizes = {s.n_samples for s in scores}
    if len(sizes) != 1:
        raise ValueError(f"every seed must give the same number of samples (Fréchet distances depend on it); got {sorted(sizes)}.")
    return SeedScores(sizes.pop(), scores)


def class_accuracy(samples: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of samples that the judge's classifier puts in the class they were asked for."""
    from course_utils import judge

    if requested.shape != (len(samples),):
        raise ValueError(f"give one requested class per sample, shape ({len(samples)},); got {tuple(requested.shape)}.")
    return float((judge.predict_proba(samples).argmax(dim=1) == requested).double().mean())


def per_class_gaussian_in_latent(coder, X: torch.Tensor, y: torch.Tensor, requested: torch.Tensor, *,
                                 seed: int = 0) -> torch.Tensor:
    """The strong baseline for a conditional generator: one Gaussian per class in a latent space.

    For each class c, ``autoencoders.gaussian_in_latent`` fits a full-covariance Gaussian to the codes
    of the digits ``X[y == c]`` and decodes samples of it; row i of the result is a sample of
    class ``requested[i]`` (pixels in [0, 1]).
    """
    from course_utils.topics import autoencoders

    if y.shape != (len(X),) or requested.dim() != 1:
        raise ValueError(f"need one label per image, y of shape ({len(X)},), and a 1-D tensor of requested classes; "
                         f"got {tuple(y.shape)} and {tuple(requested.shape)}.")
    missing = sorted(set(requested.tolist()) - set(y.tolist()))
    if missing:
        raise ValueError(f"no training images of the requested classes {missing}.")
    generator = torch.Generator().manual_seed(seed)
    out = torch.empty(len(requested), X.shape[1])
    for c in sorted(set(requested.tolist())):
        rows = requested == c
        out[rows] = autoencoders.gaussian_in_latent(coder, X[y == c], int(rows.sum()), generator=generator)
    return out


# --------------------------------------------------------------------------- figures


def ring_panel(ax, samples: torch.Tensor, data: torch.Tensor, centres: torch.Tensor, std: float,
               title: str, n_sigma: float = 3.0) -> Coverage:
    """Real points (grey), samples (red) and each mode's 3σ circle (green when covered) on one axis."""
    coverage = mode_coverage(samples, centres, std, n_sigma=n_sigma)
    ax.scatter(data[:1500, 0], data[:1500, 1], s=2, c="0.6", label="real")
    ax.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:red", alpha=0.35, label="generated")
    for (cx, cy), covered in zip(centres.tolist(), coverage.covered, strict=True):
        ax.add_patch(plt.Circle((cx, cy), n_sigma * std, fill=False, lw=1.2, color="tab:green" if covered else "k"))
    limit = float(centres.abs().max()) * 1.6
    plots.square_frame(ax, limit, f"{title}\n{coverage.n_covered}/{coverage.n_modes} modes, {coverage.on_mode:.0%} on a mode")
    return coverage


def ring_snapshots_figure(run: GANRun, data: torch.Tensor, centres: torch.Tensor, std: float,
                          steps: Sequence[int] | None = None, title: str | None = None) -> Figure:
    """One panel per snapshot of a ring GAN: watch the modes get covered (or not)."""
    steps = sorted(run.snapshots) if steps is None else list(steps)
    missing = [s for s in steps if s not in run.snapshots]
    if missing:
        raise ValueError(f"no snapshots at steps {missing}; available: {sorted(run.snapshots)}.")
    fig, axes = plt.subplots(1, len(steps), figsize=(2.1 * len(steps), 2.5))
    for ax, step in zip(np.atleast_1d(axes), steps, strict=True):
        ring_panel(ax, run.snapshots[step], data, centres, std, f"step {step}")
    return plots.finish(fig, title)


def nearest_distance_figure(batches: dict[str, torch.Tensor], train: torch.Tensor, *,
                            title: str = "How close does each image come to a training digit?") -> Figure:
    """Histograms of each image's pixel distance to its nearest training digit, one per named batch."""
    from course_utils import judge

    if not batches:
        raise ValueError("nearest_distance_figure needs at least one named batch of images.")
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    distances = {name: judge.nearest_distances(images, train).numpy() for name, images in batches.items()}
    top = max(float(d.max()) for d in distances.values())
    bins = np.linspace(0.0, max(top, 1e-3) * 1.02, 40)
    for name, values in distances.items():
        ax.hist(values, bins=bins, histtype="step", lw=1.6, label=f"{name} (median {np.median(values):.2f})")
    ax.set_xlabel("pixel distance to the nearest training digit")
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_curves_figure(history: dict[str, list[float]], window: int = 50, real_label: float = 1.0) -> Figure:
    """Left: D and G losses with the equilibrium values; right: D's mean output on real and fake data."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key, label in (("d_loss", "D loss (real + fake terms)"), ("g_loss", "G loss (non-saturating)")):
        values = smooth(history[key], window)
        left.plot(np.arange(len(values)) + window, values, label=label)
    balance = equilibrium(real_label)
    at = f"D at {balance.d_output:g}"
    left.axhline(balance.d_loss, color="tab:blue", ls=":", lw=1, label=f"equilibrium D loss ≈ {balance.d_loss:.3f} ({at})")
    left.axhline(balance.g_loss, color="tab:orange", ls=":", lw=1, label=f"equilibrium G loss ≈ {balance.g_loss:.3f} ({at})")
    left.set_xlabel("step")
    left.set_title(f"losses (moving average of {window} steps)", fontsize=10)
    left.legend(fontsize=7)
    for key, label in (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")):
        values = smooth(history[key], window)
        right.plot(np.arange(len(values)) + window, values, label=label)
    right.axhline(0.5, color="k", ls=":", lw=1, label="0.5: D cannot tell")
    if real_label != 1.0:
        right.axhline(real_label / 2, color="0.5", ls="--", lw=1, label=f"{real_label / 2:g}: same, with real label {real_label:g}")
    right.set_ylim(0, 1)
    right.set_xlabel("step")
    right.set_title("what D outputs (a probability)", fontsize=10)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- widget


class RingGANExplorer(Explorer):
    """Sliders for the learning rates of D and G, the number of steps and the minibatch-std switch.

    Each change retrains the tiny ring GAN (about a second per 500 steps; runs are cached)
    and redraws four snapshots. ``initial_run`` (trained with ``base``) is shown first,
    so displaying the widget costs no training.
    """

    description = "learning rates of D and G, number of steps, minibatch-std switch; each change retrains the ring GAN"

    def __init__(self, data: torch.Tensor, centres: torch.Tensor, std: float, base: GANConfig = GANConfig(),
                 *, seed: int = 0, initial_run: GANRun | None = None) -> None:
        import ipywidgets as w

        self.data, self.centres, self.std, self.base, self.seed = data, centres, std, base, seed
        self._cache: dict[GANConfig, GANRun] = {}
        if initial_run is not None:
            self._cache[initial_run.config] = initial_run
        self.lr_d = w.FloatLogSlider(value=base.lr_d, base=10, min=-4, max=-1.5, step=0.25, description="lr of D",
                                     continuous_update=False, readout_format=".1e")
        self.lr_g = w.FloatLogSlider(value=base.lr_g, base=10, min=-4, max=-1.5, step=0.25, description="lr of G",
                                     continuous_update=False, readout_format=".1e")
        self.steps = w.IntSlider(value=base.steps, min=500, max=4000, step=500, description="steps",
                                 continuous_update=False)
        self.minibatch_std = w.Checkbox(value=base.minibatch_std, description="minibatch std in D")
        self.start((self.lr_d, self.lr_g), (self.steps, self.minibatch_std))

    def config(self) -> GANConfig:
        """The configuration the controls describe."""
        return replace(self.base, lr_d=float(self.lr_d.value), lr_g=float(self.lr_g.value),
                       steps=int(self.steps.value), minibatch_std=bool(self.minibatch_std.value))

    def run(self) -> GANRun:
        config = self.config()
        if config not in self._cache:
            quarter = [config.steps * k // 4 for k in (1, 2, 3, 4)]
            self._cache[config] = train_gan(self.data, config, seed=self.seed, snapshot_steps=quarter)
        return self._cache[config]

    def figure(self) -> Figure:
        run = self.run()
        c = run.config
        steps = [c.steps * k // 4 for k in (1, 2, 3, 4)]
        if not all(s in run.snapshots for s in steps):
            steps = sorted(run.snapshots)[-4:]
        title = f"lr D {c.lr_d:.1e}, lr G {c.lr_g:.1e}" + (", minibatch std" if c.minibatch_std else "")
        fig = ring_snapshots_figure(run, self.data, self.centres, self.std, steps, title=title)
        self.summary = f"after {steps[-1]} steps: " + mode_coverage(run.snapshots[steps[-1]], self.centres,
                                                                    self.std).summary()
        return fig

    def on_redraw(self) -> None:
        self.status.value = self.summary
