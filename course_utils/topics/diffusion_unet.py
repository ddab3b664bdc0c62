"""Diffusion in pixel space with a tiny U-Net, and classifier-free guidance (notebook 12).

A U-Net for 8x8 digits: convolutions at 8x8, 4x4 and 2x2, then back up, with each
upward stage also fed the downward stage of the same size (the skip connections). Every
block gets the time embedding (and, optionally, a label embedding) added to its channels.
It predicts the noise ε, like ``diffusion.EpsilonMLP``, and takes and returns flat (N, 64)
vectors, so ``diffusion.ddpm_loss``, ``diffusion.ddpm_sample`` and ``diffusion.ddim_sample``
work on it unchanged: the schedules, the loss and the samplers all come from
``course_utils.topics.diffusion``; this module adds the network, the labels and the guidance.

Classifier-free guidance (Ho & Salimans, 2021): train one network both with and without the
label (the label is replaced by a "null" label a fraction ``p_uncond`` of the time); when
sampling, mix the two noise estimates,

    ε̃ = ε̂(x_t, t, ∅) + w · (ε̂(x_t, t, y) − ε̂(x_t, t, ∅)),

so w = 0 ignores the label, w = 1 is the plain conditional model, and w > 1 pushes the
samples further towards what the label asks for. (Ho & Salimans write the same mix as
(1 + w')·ε̂_cond − w'·ε̂_uncond, with w' = w − 1.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils import models, runtime
from course_utils.topics import diffusion

SIDE = 8
N_PIXELS = SIDE * SIDE
N_CLASSES = 10

# --------------------------------------------------------------------------- the network


class ResBlock(nn.Module):
    """GroupNorm → SiLU → 3x3 conv, plus the embedding (one shift per channel), GroupNorm → SiLU → 3x3 conv,
    added to the input (through a 1x1 conv when the channel count changes)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(math.gcd(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(math.gcd(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.emb(emb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class TinyUNet(nn.Module):
    """ε̂_θ(x_t, t[, y]) for 8x8 images: a U-Net with three resolutions.

    ::

        x (1×8×8) → conv → block(c) ─────────────────────────────────┐ skip
                    avg-pool → block(2c) at 4×4 ───────────────┐ skip │
                               avg-pool → block(2c) at 2×2     │      │
                               upsample, concat → block(2c) at 4×4    │
                                          upsample, concat → block(c) at 8×8 → conv → ε̂ (1×8×8)

    The sinusoidal time embedding (``diffusion.SinusoidalTimeEmbedding``) goes through a small MLP
    and is added in every block. With ``n_classes`` set, a learned label embedding is added to it;
    label ``n_classes`` (``null_label``) means "no label", for classifier-free guidance.

    ``forward`` takes x as (N, 64) or (N, 1, 8, 8) and returns ε̂ in the same shape; t is (N,) with
    integer times; ``labels`` is (N,) with values in 0..n_classes (None: the null label).
    """

    def __init__(self, channels: int = 16, time_dim: int = 32, n_classes: int | None = None) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 8 or channels % 8:
            raise ValueError(f"channels must be a multiple of 8 (8, 16, 32, ...); got {channels!r}.")
        if n_classes is not None and (not isinstance(n_classes, int) or n_classes < 2):
            raise ValueError(f"n_classes must be None (unconditional) or an int ≥ 2; got {n_classes!r}.")
        c, emb = channels, 4 * channels
        self.n_classes = n_classes
        self.time = nn.Sequential(diffusion.SinusoidalTimeEmbedding(time_dim), nn.Linear(time_dim, emb), nn.SiLU(),
                                  nn.Linear(emb, emb))
        self.label = nn.Embedding(n_classes + 1, emb) if n_classes is not None else None
        self.inp = nn.Conv2d(1, c, 3, padding=1)
        self.down8 = ResBlock(c, c, emb)
        self.down4 = ResBlock(c, 2 * c, emb)
        self.mid2 = ResBlock(2 * c, 2 * c, emb)
        self.up4 = ResBlock(4 * c, 2 * c, emb)
        self.up8 = ResBlock(3 * c, c, emb)
        self.out_norm = nn.GroupNorm(8, c)
        self.out = nn.Conv2d(c, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # starts by predicting ε̂ = 0 (loss 1), a calm start
        nn.init.zeros_(self.out.bias)

    @property
    def null_label(self) -> int:
        """The label that stands for "no label" (only for a class-conditional network)."""
        if self.n_classes is None:
            raise ValueError("this TinyUNet is unconditional (n_classes=None): it has no null label.")
        return self.n_classes

    def embed(self, t: torch.Tensor, labels: torch.Tensor | None, n: int) -> torch.Tensor:
        """The per-block embedding: time MLP, plus the label embedding for a conditional network."""
        emb = self.time(t)
        if self.label is None:
            if labels is not None:
                raise ValueError("this TinyUNet is unconditional (n_classes=None): call it without labels.")
            return emb
        if labels is None:
            labels = torch.full((n,), self.null_label, dtype=torch.long)
        return emb + self.label(check_labels(labels, n, self.n_classes, allow_null=True))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        images = as_images(x)
        n = len(images)
        if not isinstance(t, torch.Tensor) or t.shape != (n,):
            raise ValueError(f"t must be a tensor of shape ({n},), one time per image; got {getattr(t, 'shape', t)!r}.")
        emb = self.embed(t, labels, n)
        h8 = self.down8(self.inp(images), emb)                                          # c × 8×8
        h4 = self.down4(F.avg_pool2d(h8, 2), emb)                                       # 2c × 4×4
        h2 = self.mid2(F.avg_pool2d(h4, 2), emb)                                        # 2c × 2×2
        u4 = self.up4(torch.cat([F.interpolate(h2, scale_factor=2.0), h4], dim=1), emb)  # 2c × 4×4
        u8 = self.up8(torch.cat([F.interpolate(u4, scale_factor=2.0), h8], dim=1), emb)  # c × 8×8
        return self.out(F.silu(self.out_norm(u8))).reshape(x.shape)


def as_images(x: torch.Tensor) -> torch.Tensor:
    """(N, 64) or (N, 1, 8, 8) → (N, 1, 8, 8); anything else is a ValueError that says what to pass."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor of 8x8 images; got {type(x).__name__} "
                         f"{getattr(x, 'dtype', '')}.".rstrip() + " Convert with x.float().")
    if x.dim() == 2 and x.shape[1] == N_PIXELS:
        return x.reshape(-1, 1, SIDE, SIDE)
    if x.dim() == 4 and tuple(x.shape[1:]) == (1, SIDE, SIDE):
        return x
    raise ValueError(f"the U-Net takes 8x8 images as (N, 64) or (N, 1, 8, 8); got shape {tuple(x.shape)}."
                     + (" Add the channel dimension with x.unsqueeze(1)." if x.dim() == 3 else ""))


def check_labels(labels: torch.Tensor, n: int, n_classes: int, *, allow_null: bool = False) -> torch.Tensor:
    """Labels as a long tensor (n,) with values in 0..n_classes − 1 (or n_classes, the null label)."""
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor of class indices; got {type(labels).__name__} "
                         f"{getattr(labels, 'dtype', '')}.")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one per image; got {tuple(labels.shape)}.")
    top = n_classes if allow_null else n_classes - 1
    if n and (int(labels.min()) < 0 or int(labels.max()) > top):
        extra = f" ({n_classes} is the null label)" if allow_null else ""
        raise ValueError(f"labels must lie in 0..{top}{extra}; got values from {int(labels.min())} "
                         f"to {int(labels.max())}.")
    return labels.long()


class WithLabels(nn.Module):
    """A conditional ε-predictor with its labels fixed: ``forward(x, t)`` is ``model(x, t, labels)``.

    This is the two-argument form that ``diffusion.ddpm_loss`` and the samplers expect.
    """

    def __init__(self, model: nn.Module, labels: torch.Tensor) -> None:
        super().__init__()
        self.model, self.labels = model, labels

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.model(x, t, self.labels)


def check_guidance(w: float) -> float:
    """The guidance weight w as a float; w < 0 (or not a finite number) is a ValueError."""
    if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
        raise ValueError(f"the guidance weight w must be a number ≥ 0 (0: ignore the label, 1: plain "
                         f"conditional, > 1: guided); got {w!r}.")
    return float(w)


class Guided(nn.Module):
    """Classifier-free guidance as a two-argument ε-predictor, for the samplers of ``diffusion``:

    ``forward(x, t) = ε̂(x, t, ∅) + w · (ε̂(x, t, y) − ε̂(x, t, ∅))``.

    w = 0 and w = 1 need one network call (the unconditional and the conditional model); other
    weights evaluate both branches in one batch of 2N.
    """

    def __init__(self, model: TinyUNet, labels: torch.Tensor, w: float) -> None:
        super().__init__()
        if getattr(model, "n_classes", None) is None:
            raise ValueError("guidance needs a class-conditional network (TinyUNet(n_classes=10)).")
        self.model, self.w = model, check_guidance(w)
        self.labels = check_labels(labels, len(labels), model.n_classes)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        null = torch.full_like(self.labels, self.model.null_label)
        if self.w == 0.0:
            return self.model(x, t, null)
        if self.w == 1.0:
            return self.model(x, t, self.labels)
        n = len(x)
        both = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([self.labels, null]))
        eps_cond, eps_uncond = both[:n], both[n:]
        return eps_uncond + self.w * (eps_cond - eps_uncond)


# --------------------------------------------------------------------------- training


def drop_labels(labels: torch.Tensor, p_uncond: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p_uncond`` (the unconditional training examples)."""
    if not 0.0 <= p_uncond <= 1.0:
        raise ValueError(f"p_uncond (the share of examples trained without a label) must lie in [0, 1]; got {p_uncond}.")
    dropped = torch.rand(len(labels), generator=generator) < p_uncond
    return torch.where(dropped, torch.full_like(labels, null_label), labels)


@dataclass(frozen=True)
class UNetRecipe:
    """How ``train_unet`` trains: Adam with a linear warm-up then a cosine decay to 0, and a weight average."""

    channels: int = 16
    steps: int = 800
    batch_size: int = 64
    lr: float = 5e-3
    warmup: int = 50
    ema: float = 0.99
    p_uncond: float = 0.5


def train_unet(images: torch.Tensor, schedule: diffusion.Schedule, *, labels: torch.Tensor | None = None,
               recipe: UNetRecipe = UNetRecipe(), seed: int = 0) -> diffusion.DiffusionRun:
    """Train a ``TinyUNet`` on ``images`` (N, 64) in [-1, 1] with ``diffusion.ddpm_loss``.

    With ``labels`` (N,) in 0..9 the network is class-conditional and each label is dropped to the
    null label with probability ``recipe.p_uncond``. Returns a ``diffusion.DiffusionRun`` whose
    model is the weight average (in eval mode). Deterministic for a seed on one machine; like
    ``diffusion.train_ddpm`` its random streams move with ``COURSE_SEED`` (``diffusion.seeded_generator``).
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 2 or images.shape[1] != N_PIXELS:
        raise ValueError(f"train_unet needs images of shape (N, 64) scaled to [-1, 1]; got "
                         f"{getattr(images, 'shape', type(images))}.")
    if float(images.min()) < -1.0001 or float(images.max()) > 1.0001:
        raise ValueError("train_unet needs pixels scaled to [-1, 1]: map [0, 1] images with x * 2 - 1.")
    if recipe.steps < 1 or recipe.batch_size < 1 or not 0.0 < recipe.ema < 1.0:
        raise ValueError(f"need steps ≥ 1, batch_size ≥ 1 and 0 < ema < 1; got {recipe}.")
    conditional = labels is not None
    if conditional:
        labels = check_labels(labels, len(images), N_CLASSES)
    with runtime.seeded(seed):
        model = TinyUNet(recipe.channels, n_classes=N_CLASSES if conditional else None)
    average = models.moving_average(model, recipe.ema)
    rng = diffusion.seeded_generator(seed)  # moves with the seed sweep, like train_ddpm
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, foreach=False)

    def factor(k: int) -> float:
        warm = min(1.0, (k + 1) / max(1, recipe.warmup))
        return warm * 0.5 * (1 + math.cos(math.pi * min(k, recipe.steps) / recipe.steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses = []
    model.train()
    for _ in range(recipe.steps):
        idx = torch.randint(0, len(images), (recipe.batch_size,), generator=rng)
        if conditional:
            batch_labels = drop_labels(labels[idx], recipe.p_uncond, model.null_label, rng)
            loss = diffusion.ddpm_loss(WithLabels(model, batch_labels), images[idx], schedule, rng)
        else:
            loss = diffusion.ddpm_loss(model, images[idx], schedule, rng)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        average.update_parameters(model)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"U-Net training diverged at step {len(losses)}: lower the learning rate.")
    final = average.module
    final.eval()
    return diffusion.DiffusionRun(final, schedule, losses)


# --------------------------------------------------------------------------- sampling


def clip_pixels(x0: torch.Tensor) -> torch.Tensor:
    """Clip a predicted clean image to the valid pixel range [-1, 1] (what DDPM's code does)."""
    return x0.clamp(-1.0, 1.0)


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → [0, 1] (clamped), for plots and the judge."""
    return ((x + 1) / 2).clamp(0, 1)


def sample(model: nn.Module, schedule: diffusion.Schedule, n: int, *, labels: torch.Tensor | None = None,
           w: float = 1.0, steps: int | None = None, eta: float = 1.0, seed: int = 0) -> torch.Tensor:
    """``n`` digits in [0, 1], shape (n, 64), from a trained ``TinyUNet``.

    ``steps=None`` runs the full DDPM sampler (T network calls); an int runs ``diffusion.ddim_sample``
    with that many calls and DDIM's ``eta`` (1: fresh noise at each jump, like DDPM; 0: deterministic).
    For a conditional network, ``labels`` (n,) asks for digits and ``w`` is the guidance weight;
    ``labels=None`` samples unconditionally (the null label). ``x̂_0`` is clipped to [-1, 1].
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive int; got {n!r}.")
    w = check_guidance(w)
    if labels is not None:
        net = Guided(model, check_labels(labels, n, getattr(model, "n_classes", None) or N_CLASSES), w)
    elif getattr(model, "n_classes", None) is not None:
        net = WithLabels(model, torch.full((n,), model.null_label, dtype=torch.long))
    else:
        net = model
    if steps is None:
        out, _ = diffusion.ddpm_sample(net, schedule, n, N_PIXELS, seed=seed, clip_x0=clip_pixels)
    else:
        out = diffusion.ddim_sample(net, schedule, n, N_PIXELS, steps, eta=eta, seed=seed, clip_x0=clip_pixels)
    return to_pixels(out)


def requested_labels(n: int, n_classes: int = N_CLASSES) -> torch.Tensor:
    """``n`` requests spread evenly over the digits, in order: 0, 0, ..., 1, 1, ..., 9 (n = 1000: 100 of each)."""
    if not isinstance(n, int) or n < n_classes:
        raise ValueError(f"n must be an int ≥ {n_classes}, so that every digit is requested; got {n!r}.")
    return torch.arange(n) * n_classes // n


def first_per_class(images: torch.Tensor, labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """The first ``per_class`` images of each digit 0..9, in that order (10 · per_class images), for a grid."""
    labels = check_labels(labels, len(images), N_CLASSES)
    rows = []
    for digit in range(N_CLASSES):
        chosen = images[labels == digit][:per_class]
        if len(chosen) < per_class:
            raise ValueError(f"digit {digit} has only {len(chosen)} images; per_class = {per_class} needs more.")
        rows.append(chosen)
    return torch.cat(rows)


def requested_accuracy(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of the images that the judge's classifier reads as the digit that was asked for."""
    from course_utils import judge

    labels = check_labels(labels, len(images), N_CLASSES)
    return float((judge.predict_proba(images).argmax(dim=1) == labels).double().mean())


def within_class_spread(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Diversity within each class: the mean pixel distance of an image to its class's mean image,
    averaged over the classes present (images in [0, 1]). Real test digits give about 1.6."""
    labels = check_labels(labels, len(images), N_CLASSES)
    flat = images.reshape(len(images), -1).float()
    spreads = [(flat[labels == d] - flat[labels == d].mean(0)).norm(dim=1).mean() for d in labels.unique()
               if int((labels == d).sum()) >= 2]
    if not spreads:
        raise ValueError("within_class_spread needs at least two images of some class.")
    return float(torch.stack(spreads).mean())


# --------------------------------------------------------------------------- figures


def guidance_grid_figure(panels: Mapping[str, torch.Tensor], per_class: int) -> Figure:
    """One panel per guidance setting; in each, one row per requested digit (0 at the top).

    ``panels`` maps a title to images (10 · per_class, 64) in [0, 1], ordered as ``requested_labels``.
    """
    from course_utils.topics.autoencoders import tile

    if not panels:
        raise ValueError("guidance_grid_figure needs at least one titled panel of images.")
    fig, axes = plt.subplots(1, len(panels), figsize=(0.45 * per_class * len(panels) + 0.6, 4.4))
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, (title, images) in zip(axes, panels.items(), strict=True):
        if len(images) != N_CLASSES * per_class:
            raise ValueError(f"panel {title!r} needs {N_CLASSES * per_class} images (per_class = {per_class}); "
                             f"got {len(images)}.")
        ax.imshow(tile(images, N_CLASSES, per_class).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_yticks([(SIDE + 1) * d + SIDE / 2 - 0.5 for d in range(N_CLASSES)], [str(d) for d in range(N_CLASSES)])
        ax.set_xticks([])
        ax.grid(False)
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("requested digit")
    fig.tight_layout()
    return fig


def tradeoff_figure(weights: Sequence[float], accuracy: Sequence[float], frechet: Sequence[float]) -> Figure:
    """Guidance weight against the judge's accuracy on the requested digit and the Fréchet distance."""
    if not (len(weights) == len(accuracy) == len(frechet)) or not weights:
        raise ValueError("tradeoff_figure needs weights, accuracy and frechet of the same non-zero length.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 2.8))
    left.plot(weights, accuracy, "o-")
    left.set_title("judge reads the requested digit (higher is better)", fontsize=10)
    right.plot(weights, frechet, "o-", color="tab:red")
    right.set_title("Fréchet distance (lower is better)", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("guidance weight w")
        ax.set_xticks(list(weights))
    fig.tight_layout()
    return fig
