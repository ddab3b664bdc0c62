"""Helpers for notebook 18 (autoencoders and variational autoencoders).

* ``PCA`` / ``pca_fit``: principal component analysis from scratch (an SVD of the centred data),
  the linear baseline every autoencoder is compared with.
* ``MLPAutoencoder``, ``ConvAutoencoder`` and ``train_autoencoder``: small autoencoders for the
  8x8 digits (plain, linear, convolutional, denoising), with ``conv_transpose_output_size``, the
  output-size formula of ``nn.ConvTranspose2d``.
* ``add_noise``, ``per_image_error``: noisy inputs and reconstruction errors.
* ``roc_points`` and ``auc``: the ROC curve and its area, from scratch, for anomaly scores.
* ``VAE``, ``gaussian_kl``, ``vae_loss``, ``train_vae``, ``kl_per_dimension``: a variational
  autoencoder with the reparameterisation trick, and ``gaussian_in_latent``, a strong simple baseline
  for samples (a Gaussian fitted to the codes of PCA or of a plain autoencoder, decoded).
* Figures and, at the bottom, the widgets: ``DenoisingExplorer`` over a trained denoising model and
  ``BetaExplorer`` over VAEs trained with different β.

Everything except the widget shell is pure (given the torch seed it is called with).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils import plots
from course_utils.widgets import Explorer

IMAGE_SIDE = 8
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return value


def _as_flat(X: torch.Tensor, what: str = "X") -> torch.Tensor:
    """(N, 64) or (N, 1, 8, 8) float images -> (N, 64); anything else is a clear error."""
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"{what} must be a torch.Tensor of images; got {type(X).__name__}.")
    if not X.is_floating_point():
        raise ValueError(f"{what} must hold floats in [0, 1]; got dtype {X.dtype} (divide 0-16 counts by 16).")
    if X.dim() == 4 and tuple(X.shape[1:]) == (1, IMAGE_SIDE, IMAGE_SIDE):
        return X.reshape(len(X), N_PIXELS)
    if X.dim() == 2 and X.shape[1] == N_PIXELS:
        return X
    raise ValueError(f"{what} must have shape (N, 64) or (N, 1, 8, 8); got {tuple(X.shape)}.")


# --------------------------------------------------------------------------- PCA from scratch


@dataclass(frozen=True)
class PCA:
    """The top ``k`` principal directions of some data: ``components`` is (k, D), rows orthonormal."""

    mean: torch.Tensor
    components: torch.Tensor
    singular_values: torch.Tensor
    n_samples: int

    @property
    def k(self) -> int:
        return len(self.components)

    @property
    def explained_variance(self) -> torch.Tensor:
        """Variance of the data along each kept direction: s² / (N − 1), as scikit-learn reports it."""
        return self.singular_values**2 / (self.n_samples - 1)

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self.mean) @ self.components.T

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        return Z @ self.components + self.mean

    def reconstruct(self, X: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(X))


def pca_fit(X: torch.Tensor, k: int) -> PCA:
    """PCA by an SVD of the centred data: X − mean = U S Vᵀ, keep the first ``k`` rows of Vᵀ.

    Signs are fixed so that the largest entry of each direction is positive (an SVD may flip them).
    """
    X = _as_flat(X) if X.dim() == 4 else X
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or not X.is_floating_point():
        raise ValueError("pca_fit needs a 2-D float tensor of shape (N, D), one sample per row.")
    _positive_int("k", k)
    if k > min(X.shape):
        raise ValueError(f"k = {k} directions cannot exceed min(N, D) = {min(X.shape)} for data of shape {tuple(X.shape)}.")
    mean = X.mean(0)
    _, S, Vt = torch.linalg.svd(X - mean, full_matrices=False)
    V = Vt[:k]
    signs = torch.sign(V.gather(1, V.abs().argmax(1, keepdim=True)))
    return PCA(mean=mean, components=V * signs, singular_values=S[:k], n_samples=len(X))


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared error per pixel, as a Python float."""
    return float(F.mse_loss(a, b))


# --------------------------------------------------------------------------- autoencoders


class MLPAutoencoder(nn.Module):
    """64 → hidden → latent → hidden → 64. ``linear=True`` drops every nonlinearity (a linear AE)."""

    def __init__(self, latent: int = 8, hidden: int = 128, *, linear: bool = False) -> None:
        super().__init__()
        _positive_int("latent", latent)
        _positive_int("hidden", hidden)
        self.latent, self.linear = latent, linear
        if linear:
            self.encoder = nn.Linear(N_PIXELS, latent)
            self.decoder = nn.Linear(latent, N_PIXELS)
        else:
            self.encoder = nn.Sequential(nn.Linear(N_PIXELS, hidden), nn.ReLU(), nn.Linear(hidden, latent))
            self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, N_PIXELS),
                                         nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of the images ``x`` (no gradient)."""
        with torch.no_grad():
            return self.encoder(_as_flat(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images for the codes ``z`` (no gradient)."""
        with torch.no_grad():
            return self.decoder(z)


class ConvAutoencoder(nn.Module):
    """(N, 1, 8, 8) → two stride-2 convolutions (8 → 4 → 2) → latent → two ConvTranspose2d (2 → 4 → 8)."""

    def __init__(self, latent: int = 8, channels: int = 16) -> None:
        super().__init__()
        _positive_int("latent", latent)
        _positive_int("channels", channels)
        c = channels
        self.latent = latent
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.ReLU(),           # 8 -> 4
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),       # 4 -> 2
            nn.Flatten(), nn.Linear(2 * c * 4, latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, 2 * c * 4), nn.ReLU(), nn.Unflatten(1, (2 * c, 2, 2)),
            nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 2 -> 4
            nn.ConvTranspose2d(c, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),   # 4 -> 8
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return self.decoder(self.encoder(x.view(-1, 1, IMAGE_SIDE, IMAGE_SIDE))).view(-1, N_PIXELS)
        return self.decoder(self.encoder(x))


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """H_out = (H_in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1."""
    for name, value in (("size", size), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        _positive_int(name, value)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int; got {padding!r}.")
    if isinstance(output_padding, bool) or not isinstance(output_padding, int) or output_padding < 0:
        raise ValueError(f"output_padding must be a non-negative int; got {output_padding!r}.")
    if output_padding >= max(stride, dilation):
        raise ValueError(f"output_padding must be smaller than stride or dilation (PyTorch's rule); "
                         f"got output_padding={output_padding}, stride={stride}, dilation={dilation}.")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"these settings give an output of size {out}; reduce the padding.")
    return out


def add_noise(X: torch.Tensor, sigma: float, *, generator: torch.Generator | None = None,
              noise: torch.Tensor | None = None) -> torch.Tensor:
    """x + σ·ε with ε ~ N(0, 1), clamped back to the pixel range [0, 1]. Pass ``noise`` to reuse one ε."""
    if not isinstance(sigma, int | float) or isinstance(sigma, bool) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma is a noise standard deviation: a finite number ≥ 0; got {sigma!r}.")
    if noise is None:
        noise = torch.randn(X.shape, generator=generator)
    elif noise.shape != X.shape:
        raise ValueError(f"noise must have the shape of X, {tuple(X.shape)}; got {tuple(noise.shape)}.")
    return (X + sigma * noise).clamp(0, 1)


def _check_training(X: torch.Tensor, epochs: int, batch_size: int, lr: float) -> torch.Tensor:
    X = _as_flat(X)
    _positive_int("epochs", epochs)
    _positive_int("batch_size", batch_size)
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr!r}.")
    return X


def _batches(X: torch.Tensor, batch_size: int):
    """One epoch of shuffled mini-batches of ``X`` (global torch RNG)."""
    order = torch.randperm(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order[start:start + batch_size]]


@dataclass
class History:
    """Training loss per epoch (and, for a VAE, its two parts)."""

    loss: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)


def train_autoencoder(model: nn.Module, X: torch.Tensor, *, epochs: int = 100, lr: float = 3e-3,
                      batch_size: int = 64, noise: float = 0.0, random_noise: bool = False) -> History:
    """Adam on the mean squared reconstruction error, mini-batches drawn with the global torch RNG.

    With ``noise > 0`` the model sees x + σ·ε (clamped) and must output the clean x: a denoising
    autoencoder. ``random_noise=True`` draws σ uniformly in [0, noise] per image, so one model
    learns every noise level up to ``noise``.
    """
    X = _check_training(X, epochs, batch_size, lr)
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative; got {noise!r}.")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    model.train()
    for _ in range(epochs):
        total = 0.0
        for clean in _batches(X, batch_size):
            inputs = clean
            if noise > 0:
                sigma = noise * torch.rand(len(clean), 1) if random_noise else noise
                inputs = (clean + sigma * torch.randn_like(clean)).clamp(0, 1)
            loss = F.mse_loss(model(inputs), clean)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(clean)
        history.loss.append(total / len(X))
    model.eval()
    return history


def per_image_error(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error of each image, shape (N,): the anomaly score."""
    X = _as_flat(X)
    with torch.no_grad():
        return ((model(X) - X) ** 2).mean(1)


# --------------------------------------------------------------------------- ROC and AUC


def _scores_and_labels(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
    labels = torch.as_tensor(labels).flatten()
    if len(scores) != len(labels):
        raise ValueError(f"scores and labels must have the same length; got {len(scores)} and {len(labels)}.")
    if not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError("labels must be 0 (normal) or 1 (anomaly).")
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise ValueError("the ROC curve needs both classes: at least one anomaly (1) and one normal (0) label.")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores contain NaN or infinite values.")
    return scores, labels.to(torch.float64)


def roc_points(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """False- and true-positive rates for every threshold, from (0, 0) to (1, 1); ties form one step.

    A sample is flagged when its score is ≥ the threshold; labels are 1 for an anomaly, 0 for normal.
    """
    scores, labels = _scores_and_labels(scores, labels)
    order = torch.argsort(scores, descending=True, stable=True)
    s, y = scores[order], labels[order]
    tp, fp = torch.cumsum(y, 0), torch.cumsum(1 - y, 0)
    last_of_tie = torch.cat([s[1:] != s[:-1], torch.tensor([True])])  # keep one point per distinct score
    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), tp[last_of_tie] / y.sum()])
    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), fp[last_of_tie] / (1 - y).sum()])
    return fpr, tpr


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve by the trapezoid rule on ``roc_points``."""
    fpr, tpr = roc_points(scores, labels)
    return float(torch.trapezoid(tpr, fpr))


# --------------------------------------------------------------------------- the VAE


class VAE(nn.Module):
    """Encoder 64 → hidden → (μ, log σ²) of size ``latent``; decoder latent → hidden → 64 logits."""

    def __init__(self, latent: int = 8, hidden: int = 256) -> None:
        super().__init__()
        _positive_int("latent", latent)
        _positive_int("hidden", hidden)
        self.latent = latent
        self.body = nn.Sequential(nn.Linear(N_PIXELS, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, N_PIXELS))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pixel logits of a reconstruction through one sampled z, and the encoder's μ and log σ²."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (pixel probabilities in [0, 1]) for latent codes ``z``."""
        with torch.no_grad():
            return torch.sigmoid(self.decoder(z))

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images decoded from z ~ N(0, I), the prior."""
        _positive_int("n", n)
        return self.decode(torch.randn(n, self.latent, generator=generator))


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = μ + σ·ε with σ = exp(½ log σ²) and ε ~ N(0, I): random, yet differentiable in μ and σ."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape; got {tuple(mu.shape)} and {tuple(logvar.shape)}.")
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over the latent dimensions: −½ Σ (1 + log σ² − μ² − σ²), shape (N,)."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape; got {tuple(mu.shape)} and {tuple(logvar.shape)}.")
    return -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, distortion, rate) per image, averaged over the batch, in nats.

    distortion = binary cross-entropy summed over the 64 pixels (a Bernoulli decoder), rate = the KL
    term, loss = distortion + β·rate (the negative ELBO for β = 1).
    """
    if not isinstance(beta, int | float) or isinstance(beta, bool) or not beta >= 0:
        raise ValueError(f"beta weighs the KL term: a number ≥ 0; got {beta!r}.")
    distortion = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
    rate = gaussian_kl(mu, logvar).mean()
    return distortion + beta * rate, distortion, rate


def train_vae(model: VAE, X: torch.Tensor, *, beta: float = 1.0, epochs: int = 100, lr: float = 2e-3,
              batch_size: int = 64) -> History:
    """Adam on ``vae_loss``; mini-batches and ε drawn with the global torch RNG."""
    X = _check_training(X, epochs, batch_size, lr)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    model.train()
    for _ in range(epochs):
        sums = [0.0, 0.0, 0.0]
        for x in _batches(X, batch_size):
            logits, mu, logvar = model(x)
            loss, distortion, rate = vae_loss(logits, x, mu, logvar, beta)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for i, value in enumerate((loss, distortion, rate)):
                sums[i] += value.item() * len(x)
        history.loss.append(sums[0] / len(X))
        history.recon.append(sums[1] / len(X))
        history.kl.append(sums[2] / len(X))
    model.eval()
    return history


def evaluate_vae(model: VAE, X: torch.Tensor) -> dict[str, float]:
    """Distortion (BCE, nats per image), rate (KL, nats per image) and pixel MSE of the mean reconstruction.

    The distortion is measured at the encoder mean μ, not averaged over z ~ q(z | x) as in the loss.
    """
    X = _as_flat(X)
    with torch.no_grad():
        mu, logvar = model.encode(X)
        logits = model.decoder(mu)
        distortion = F.binary_cross_entropy_with_logits(logits, X, reduction="none").sum(1).mean()
        return {"distortion": float(distortion), "rate": float(gaussian_kl(mu, logvar).mean()),
                "mse": float(F.mse_loss(torch.sigmoid(logits), X))}


def kl_per_dimension(model: VAE, X: torch.Tensor) -> torch.Tensor:
    """Mean KL to the prior of each latent dimension over the images ``X``, shape (latent,): which ones are used."""
    with torch.no_grad():
        mu, logvar = model.encode(_as_flat(X))
    return (-0.5 * (1 + logvar - mu**2 - logvar.exp())).mean(0)


def gaussian_in_latent(coder: PCA | MLPAutoencoder, X: torch.Tensor, n: int, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """A strong simple baseline: fit a full-covariance Gaussian to the codes of ``X``, sample it, decode.

    ``coder`` is anything with ``encode`` and ``decode``: a ``PCA`` (its codes are uncorrelated on the
    data it was fitted to, so the covariance comes out diagonal) or a trained ``MLPAutoencoder``
    (ex-post density estimation in the sense of Ghosh et al. 2020). Returns ``n`` images clamped to [0, 1].
    """
    _positive_int("n", n)
    if not (hasattr(coder, "encode") and hasattr(coder, "decode")):
        raise ValueError(f"coder must have encode and decode methods (a PCA or an MLPAutoencoder); got {type(coder).__name__}.")
    codes = coder.encode(_as_flat(X)).double()
    k = codes.shape[1]
    if len(codes) <= k:
        raise ValueError(f"fitting a {k}-d Gaussian needs more than {k} images; got {len(codes)}.")
    mean, cov = codes.mean(0), torch.cov(codes.T).reshape(k, k)
    L = torch.linalg.cholesky(cov + 1e-9 * torch.eye(k, dtype=torch.float64))
    z = mean + torch.randn(n, k, generator=generator, dtype=torch.float64) @ L.T
    return coder.decode(z.float()).clamp(0, 1)


# --------------------------------------------------------------------------- figures


def tile(images: torch.Tensor, nrows: int, ncols: int, *, gap: int = 1) -> torch.Tensor:
    """Lay ``nrows·ncols`` 8x8 images out as one picture, row by row, with ``gap`` blank pixels between them."""
    _positive_int("nrows", nrows)
    _positive_int("ncols", ncols)
    images = _as_flat(images.detach().float(), "images")
    if len(images) != nrows * ncols:
        raise ValueError(f"tile needs nrows·ncols = {nrows * ncols} images; got {len(images)}.")
    padded = F.pad(images.view(nrows, ncols, IMAGE_SIDE, IMAGE_SIDE), (0, gap, 0, gap))
    side = IMAGE_SIDE + gap
    return padded.permute(0, 2, 1, 3).reshape(nrows * side, ncols * side)[: nrows * side - gap, : ncols * side - gap]


def rows_figure(rows: dict[str, torch.Tensor], *, title: str | None = None, size: float = 0.75) -> Figure:
    """One row of 8x8 images per entry (e.g. originals / reconstructions), named on the left."""
    if not rows:
        raise ValueError("rows_figure needs at least one named row of images.")
    ncols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols + 1.2, size * len(rows) + 0.4), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        images = _as_flat(images.detach().float(), "images").view(-1, IMAGE_SIDE, IMAGE_SIDE)
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                ax.imshow(images[c].numpy(), cmap="gray_r", vmin=0, vmax=1)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    return plots.finish(fig, title)


def latent_grid_figure(model: VAE, n: int = 12, *, scores: torch.Tensor | None = None,
                       labels: torch.Tensor | None = None) -> Figure:
    """Left: decoded images on an n×n grid of a 2-d latent (Gaussian quantiles); right: the test codes by class."""
    if model.latent != 2:
        raise ValueError(f"a latent grid needs a 2-d latent space; this VAE has {model.latent} dimensions.")
    _positive_int("n", n)
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.5 / n, 1 - 0.5 / n, n))
    z = torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), dim=-1).reshape(-1, 2)
    canvas = tile(model.decode(z), n, n)
    ncols = 2 if scores is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 4.0), squeeze=False)
    ax = axes[0, 0]
    ax.imshow(canvas.numpy(), cmap="gray_r", vmin=0, vmax=1, aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("decoder on a grid of z (Gaussian quantiles)", fontsize=9)
    if scores is not None:
        scores = scores.detach()
        ax = axes[0, 1]
        points = ax.scatter(scores[:, 0].numpy(), scores[:, 1].numpy(), c=torch.as_tensor(labels).numpy(), cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
        fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
        ax.set_xlabel("$\\mu_1$")
        ax.set_ylabel("$\\mu_2$")
        ax.set_title("encoder means of the test digits", fontsize=9)
    fig.tight_layout()
    return fig


def roc_figure(curves: dict[str, tuple[torch.Tensor, torch.Tensor, float]], *, title: str = "ROC curves") -> Figure:
    """ROC curves ``{name: (fpr, tpr, auc)}`` with the diagonal of a random score."""
    fig, ax = plt.subplots(figsize=(4.4, 4.0))
    for name, (fpr, tpr, area) in curves.items():
        ax.plot(fpr.numpy(), tpr.numpy(), label=f"{name} (AUC {area:.2f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="random score (AUC 0.5)")
    ax.set_xlabel("false-positive rate (normal digits flagged)")
    ax.set_ylabel("true-positive rate (anomalies flagged)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the widget


def denoise_figure(clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor, sigma: float) -> Figure:
    """Three rows (clean, noisy, denoised) and the error of each image before and after."""
    return rows_figure({"clean": clean, f"noisy\nσ = {sigma:.2f}": noisy, "denoised": denoised},
                       title="the same images and the same ε at every σ; only its size changes")


class DenoisingExplorer(Explorer):
    """Widget shell: noise σ → noisy input, the trained model's output, and their errors (cheap redraws)."""

    description = "a slider for the noise level σ added to the input"

    def __init__(self, model: nn.Module, X: torch.Tensor, *, sigma: float = 0.3, n_show: int = 10,
                 max_sigma: float = 0.8) -> None:
        import ipywidgets as w

        self.model = model
        self.X = _as_flat(X)
        self.n_show = _positive_int("n_show", n_show)
        self.noise = torch.randn(self.X.shape, generator=torch.Generator().manual_seed(0))  # one ε, fixed
        self.sigma = w.FloatSlider(value=sigma, min=0.0, max=max_sigma, step=0.05, description="noise σ",
                                   continuous_update=False, readout_format=".2f")
        self.start(self.sigma)

    def errors(self) -> dict[str, float]:
        """Pixel MSE to the clean images over all of ``X``: of the noisy input and of the model's output."""
        return {"noisy": mse(self.noisy, self.X), "denoised": mse(self.denoised, self.X)}

    def figure(self) -> Figure:
        s = float(self.sigma.value)
        self.noisy = add_noise(self.X, s, noise=self.noise)
        with torch.no_grad():
            self.denoised = self.model(self.noisy)
        k = self.n_show
        return denoise_figure(self.X[:k], self.noisy[:k], self.denoised[:k], s)

    def on_redraw(self) -> None:
        e = self.errors()
        self.status.value = (f"σ = {float(self.sigma.value):.2f}: pixel MSE to the clean digits, noisy input "
                             f"<b>{e['noisy']:.4f}</b>, denoised output <b>{e['denoised']:.4f}</b> "
                             f"({len(self.X)} images)")


def beta_figure(points: dict[float, tuple[float, float]], beta: float, kl_dims: torch.Tensor,
                rows: dict[str, torch.Tensor]) -> Figure:
    """Rate–distortion curve with ``beta`` highlighted, its KL per latent dimension, and rows of images."""
    fig = plt.figure(figsize=(10, 3.2))
    grid = fig.add_gridspec(1, 3, width_ratios=(1, 0.8, 1.6))
    curve, bars, pictures = (fig.add_subplot(grid[0, i]) for i in range(3))
    rates, distortions = zip(*points.values(), strict=True)
    curve.plot(rates, distortions, marker="o", color="tab:blue")
    curve.plot(*points[beta], marker="o", markersize=12, color="tab:red", zorder=3)
    for b, (r, d) in points.items():
        curve.annotate(f"β = {b:g}", (r, d), textcoords="offset points", xytext=(5, 5), fontsize=8)
    curve.set_xlabel("rate (nats per image)")
    curve.set_ylabel("distortion (nats per image)")
    curve.set_title("rate–distortion (test digits)", fontsize=9)
    curve.margins(x=0.2, y=0.1)
    bars.bar(range(1, len(kl_dims) + 1), kl_dims.numpy(), color="tab:red")
    bars.set_xticks(range(1, len(kl_dims) + 1))
    bars.set_xlabel("latent dimension")
    bars.set_ylabel("mean KL (nats)")
    bars.set_title("which dimensions carry information", fontsize=9)
    ncols = max(len(v) for v in rows.values())
    canvas = tile(torch.cat([_as_flat(v) for v in rows.values()]), len(rows), ncols)
    pictures.imshow(canvas.numpy(), cmap="gray_r", vmin=0, vmax=1, aspect="equal")
    pictures.set_yticks([4 + 9 * i for i in range(len(rows))], list(rows))
    pictures.set_xticks([])
    pictures.set_title(f"β = {beta:g}", fontsize=9)
    fig.tight_layout()
    return fig


class BetaExplorer(Explorer):
    """Widget shell: pick one of several trained VAEs by its β; nothing is retrained.

    For each β everything is computed once, in the constructor: rate and distortion on ``X``, the KL
    per latent dimension, reconstructions from μ, prior samples, and the judge's scores of
    ``n_judged`` prior samples.
    """

    description = "a slider over the β of the trained VAEs"

    def __init__(self, vaes: dict[float, VAE], X: torch.Tensor, *, beta: float | None = None, n_show: int = 8,
                 n_judged: int = 1000, seed: int = 0) -> None:
        import ipywidgets as w

        from course_utils import judge

        if not vaes:
            raise ValueError("BetaExplorer needs a dict {beta: trained VAE} with at least one entry.")
        self.n_show = _positive_int("n_show", n_show)
        _positive_int("n_judged", n_judged)
        X = _as_flat(X)
        self.metrics, self.kl_dims, self.rows, self.scores = {}, {}, {}, {}
        for b, model in vaes.items():
            self.metrics[b] = evaluate_vae(model, X)
            self.kl_dims[b] = kl_per_dimension(model, X)
            samples = model.sample(n_judged, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                recon = model.decode(model.encode(X[:n_show])[0])
            self.rows[b] = {"original": X[:n_show], "from μ": recon, "samples": samples[:n_show]}
            self.scores[b] = judge.score(samples)
        self.points = {b: (m["rate"], m["distortion"]) for b, m in self.metrics.items()}
        betas = list(vaes)
        if beta is not None and beta not in vaes:
            raise ValueError(f"beta must be one of the trained values {betas}; got {beta!r}.")
        self.beta = w.SelectionSlider(options=[(f"{b:g}", b) for b in betas], value=betas[0] if beta is None else beta,
                                      description="β", continuous_update=False)
        self.start(self.beta)

    def figure(self) -> Figure:
        b = self.beta.value
        return beta_figure(self.points, b, self.kl_dims[b], self.rows[b])

    def on_redraw(self) -> None:
        b = self.beta.value
        m, s = self.metrics[b], self.scores[b]
        self.status.value = (f"β = {b:g}: rate <b>{m['rate']:.2f}</b> nats, distortion <b>{m['distortion']:.2f}</b> "
                             f"nats per image; judge on {s.n_samples} prior samples: confidence <b>{s.confidence:.3f}</b>, "
                             f"rarest class {s.min_class_fraction:.3f}, Fréchet distance <b>{s.frechet:.2f}</b>")
