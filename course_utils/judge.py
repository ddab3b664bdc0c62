"""An honest judge for generated 8x8 digits (notebooks 11 and 12).

Pictures of samples are necessary but not enough: a grid of 64 samples can hide a
generator that makes only three kinds of digit, or blurry blends of two digits.
This judge scores a batch of generated digits against real ones with a small
reference classifier trained on real digits:

1. **confidence**: the mean of the classifier's largest softmax probability on the
   samples. Real test digits score about 0.95; a blend of two different digits about
   0.6; noise about 0.1 (the classifier was taught to be unsure on noise).
2. **class histogram** (mode coverage): the fraction of samples the classifier puts in
   each of the 10 classes. A generator that makes only one digit has one bar near 1.
3. **Fréchet distance** between the classifier's penultimate features (64 numbers per
   image) of the samples and of the 359 real test digits, a small version of FID:
   ``‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})``, in float64. Lower is better; it sees
   both quality and diversity, but it is biased upwards for small sample counts, so
   only compare distances computed from the same number of samples.

4. **memorisation** (``memorisation_check``): the median distance from each sample to
   its nearest training digit, against the same for real digits the generator never
   saw. A generator that copies its training set has a ratio near 0; new digits, near 1.

The reference classifier (an MLP on standardised pixels, 64→256→64→10) is trained
on 1,079 of the 1,438 training digits of ``digits_split(test_fraction=0.2, seed=0)``
(the generators' training set); the other 359 (``unseen_digits``, a stratified fifth)
it never sees, so they give an honest "real digits" row. It is trained on first
use, in about two seconds, deterministically (fixed seed, one thread, its own random
stream, so the caller's random numbers are untouched). Besides the usual
cross-entropy it learns two things that make its confidence honest:

* *outlier exposure*: on noise images (uniform, Gaussian, smooth noise and digits
  with shuffled pixels) it is trained towards the uniform distribution (confidence 0.1);
* *mixup*: on blends of two digits it is trained towards the blended label, so an
  ambiguous image gets an ambiguous score.

It must reach at least 97 % accuracy on the 359 held-out test digits (it reaches
about 98 %), otherwise it refuses to judge. The trained weights are kept in memory
for the session and in ``tempfile.gettempdir()/course_utils_judge_<hash>.pt``, where
the hash covers the training recipe, this module's code and the machine's float fingerprint; they are loaded with
``torch.load(weights_only=True)``.

Limits: 8x8 digits are tiny, the classifier is small, and 359 real digits give a
noisy Fréchet distance. The scores are a sanity check for a course, not a benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import cache, runtime

N_CLASSES = 10
N_PIXELS = 64
MIN_TEST_ACCURACY = 0.97
MIN_SAMPLES = 10
RANGE_TOLERANCE = 1e-4

# Everything that changes the trained classifier; its hash names the cache file.
RECIPE: dict = {
    "version": 2,
    # test: the Fréchet reference; val: real digits the judge never sees, the "real digits" row
    "split": {"test_fraction": 0.2, "val_fraction": 0.2, "seed": 0},
    "hidden": [256, 64],
    "std_floor": 0.3,
    "epochs": 30,
    "batch_size": 128,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "outlier_weight": 0.2,
    "mixup_weight": 0.5,
    "mixup_range": [0.3, 0.7],
    "blur_max": 0.5,
    "pixel_noise_max": 0.05,
    "seed": 0,
}


class JudgeInputError(ValueError):
    """The samples given to the judge have the wrong shape, type or value range."""


class JudgeNotReliable(RuntimeError):
    """The reference classifier missed its accuracy bar, so its scores would mean little."""


# --------------------------------------------------------------------------- the classifier


class JudgeNet(nn.Module):
    """Standardise pixels, two hidden ReLU layers (the last one gives the features), 10 logits."""

    def __init__(self, pixel_mean: torch.Tensor, pixel_std: torch.Tensor, hidden: tuple[int, int] = (256, 64)):
        super().__init__()
        self.register_buffer("pixel_mean", pixel_mean.clone().float())
        self.register_buffer("pixel_std", pixel_std.clone().float())
        self.body = nn.Sequential(
            nn.Linear(N_PIXELS, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU()
        )
        self.head = nn.Linear(hidden[1], N_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations, (N, 64): what the Fréchet distance compares."""
        return self.body((x - self.pixel_mean) / self.pixel_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _blur(x: torch.Tensor) -> torch.Tensor:
    """3x3 box blur of flattened 8x8 images (edges replicated)."""
    padded = F.pad(x.view(-1, 1, 8, 8), (1, 1, 1, 1), mode="replicate")
    return F.avg_pool2d(padded, 3, stride=1).reshape(-1, N_PIXELS)


def _noise_images(digits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Four kinds of non-digits, len(digits)//4 of each: uniform, Gaussian, shuffled pixels, smooth noise."""
    k = max(1, len(digits) // 4)
    uniform = torch.rand(k, N_PIXELS, generator=generator)
    centre = torch.rand(k, 1, generator=generator)
    spread = 0.5 * torch.rand(k, 1, generator=generator)
    gaussian = (centre + spread * torch.randn(k, N_PIXELS, generator=generator)).clamp(0, 1)
    order = torch.argsort(torch.rand(k, N_PIXELS, generator=generator), dim=1)
    shuffled = torch.gather(digits[:k], 1, order)
    coarse = torch.rand(k, 1, 4, 4, generator=generator)
    smooth = F.interpolate(coarse, size=8, mode="bilinear", align_corners=False).reshape(k, N_PIXELS)
    return torch.cat([uniform, gaussian, shuffled, smooth])


def _training_data(recipe: Mapping) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from course_utils.data import digits_split

    split = digits_split(**recipe["split"])
    return split.X_train, split.y_train, split.X_test, split.y_test


def unseen_digits(recipe: Mapping = RECIPE) -> tuple[torch.Tensor, torch.Tensor]:
    """Real digits, labels of the training split that the judge never trained on (the "real digits" row).

    They are part of ``digits_split(test_fraction=0.2, seed=0).X_train``, on which the course's generators
    train, and disjoint from the test digits that serve as the Fréchet reference.
    """
    from course_utils.data import digits_split

    split = digits_split(**recipe["split"])
    return split.X_val, split.y_val


def train_reference_classifier(recipe: Mapping = RECIPE) -> JudgeNet:
    """Train the judge's classifier from scratch (deterministic; leaves global RNG and threads as they were)."""
    X, y, _, _ = _training_data(recipe)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with runtime.seeded(recipe["seed"]):
            generator = torch.Generator().manual_seed(recipe["seed"])
            model = JudgeNet(X.mean(0), X.std(0).clamp_min(recipe["std_floor"]), tuple(recipe["hidden"]))
            optimizer = torch.optim.Adam(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
            low, high = recipe["mixup_range"]
            model.train()
            for _ in range(recipe["epochs"]):
                order = torch.randperm(len(X), generator=generator)
                for start in range(0, len(X), recipe["batch_size"]):
                    idx = order[start : start + recipe["batch_size"]]
                    digits, labels = X[idx], y[idx]
                    n = len(idx)
                    # mildly blurred / noisy copies keep their label
                    amount = recipe["blur_max"] * torch.rand(n, 1, generator=generator)
                    noise = recipe["pixel_noise_max"] * torch.rand(n, 1, generator=generator)
                    soft = (1 - amount) * digits + amount * _blur(digits)
                    soft = (soft + noise * torch.randn(n, N_PIXELS, generator=generator)).clamp(0, 1)
                    # blends of two digits get the blended label
                    partner = torch.randperm(n, generator=generator)
                    lam = low + (high - low) * torch.rand(n, 1, generator=generator)
                    blends = lam * digits + (1 - lam) * digits[partner]
                    one_hot = F.one_hot(labels, N_CLASSES).float()
                    blend_target = lam * one_hot + (1 - lam) * one_hot[partner]
                    outliers = _noise_images(digits, generator)
                    logits = model(torch.cat([digits, soft, outliers, blends]))
                    clean_logits, rest = logits[: 2 * n], logits[2 * n :]
                    outlier_logits, blend_logits = rest[: len(outliers)], rest[len(outliers) :]
                    loss = (
                        F.cross_entropy(clean_logits, torch.cat([labels, labels]))
                        - recipe["outlier_weight"] * outlier_logits.log_softmax(1).mean()
                        - recipe["mixup_weight"] * (blend_target * blend_logits.log_softmax(1)).sum(1).mean()
                    )
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            model.eval()
    finally:
        torch.set_num_threads(threads)
    return model


def recipe_hash(recipe: Mapping = RECIPE) -> str:
    """A short hash of the recipe, this module's code and the float fingerprint (names the cache file)."""
    return cache.key_hash({"recipe": recipe}, __file__)


def cache_path(recipe: Mapping = RECIPE) -> Path:
    """Where the trained classifier is kept between sessions (the system's temporary folder)."""
    return cache.path_for("judge", {"recipe": recipe}, __file__)


def _accuracy(model: JudgeNet, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(X).argmax(1) == y).float().mean())


def _load_cached(path: Path, recipe: Mapping) -> JudgeNet | None:
    """The cached classifier, or None when the file is missing or unreadable."""
    state = cache.load(path)
    if state is None:
        return None
    try:
        model = JudgeNet(state["pixel_mean"], state["pixel_std"], tuple(recipe["hidden"]))
        model.load_state_dict(state)
    except Exception:  # a foreign file: retrain and overwrite it
        return None
    return model.eval()


_cache: dict[str, tuple[JudgeNet, float]] = {}


def reference_classifier(recipe: Mapping = RECIPE, *, use_disk_cache: bool = True) -> JudgeNet:
    """The judge's classifier: from memory, else from the temp-folder cache, else trained now (a few seconds).

    Raises ``JudgeNotReliable`` if its test accuracy is below ``MIN_TEST_ACCURACY``.
    """
    key = recipe_hash(recipe)
    if key in _cache:
        return _cache[key][0]
    _, _, X_test, y_test = _training_data(recipe)
    path = cache_path(recipe)
    model = _load_cached(path, recipe) if use_disk_cache else None
    if model is None or _accuracy(model, X_test, y_test) < MIN_TEST_ACCURACY:
        model = train_reference_classifier(recipe)
        if use_disk_cache:
            cache.save(model.state_dict(), path)
    accuracy = _accuracy(model, X_test, y_test)
    if accuracy < MIN_TEST_ACCURACY:
        raise JudgeNotReliable(
            f"the judge's classifier reached only {accuracy:.4f} test accuracy (bar {MIN_TEST_ACCURACY}); "
            "its scores would not mean much. Check the data and the recipe."
        )
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    _cache[key] = (model, accuracy)
    return model


def test_accuracy(recipe: Mapping = RECIPE) -> float:
    """The reference classifier's accuracy on the 359 held-out real test digits."""
    reference_classifier(recipe)
    return _cache[recipe_hash(recipe)][1]


# --------------------------------------------------------------------------- memorisation


@dataclass(frozen=True)
class Memorisation:
    """Median distance to the nearest training digit: of the samples, and of real digits the generator never saw."""

    samples_to_train: float
    unseen_to_train: float

    @property
    def ratio(self) -> float:
        """samples / unseen real digits: 0 for exact copies of training digits, about 1 for new digits."""
        return self.samples_to_train / self.unseen_to_train

    def summary(self, name: str = "samples") -> str:
        return (f"{name}: median distance to the nearest training digit {self.samples_to_train:.3f}; "
                f"for real digits it never saw {self.unseen_to_train:.3f} (ratio {self.ratio:.3f})")


def nearest_distances(samples: torch.Tensor | np.ndarray, reference: torch.Tensor) -> torch.Tensor:
    """For each sample, the Euclidean pixel distance to its nearest image in ``reference`` (both in [0, 1])."""
    x = as_flat_digits(samples)
    ref = as_flat_digits(reference)
    return torch.cdist(x.double(), ref.double()).min(dim=1).values


def memorisation_check(samples: torch.Tensor | np.ndarray, train: torch.Tensor, unseen: torch.Tensor) -> Memorisation:
    """How close samples come to the generator's training digits, against how close new real digits come.

    A generator that copies its training set makes samples much closer to it (ratio near 0) than real
    digits it never saw (``unseen``, e.g. the test digits); one that learned the distribution is about
    as far (ratio near 1); blurry averages of many digits can come out a little closer.
    """
    train_flat = as_flat_digits(train)
    return Memorisation(
        samples_to_train=float(nearest_distances(samples, train_flat).median()),
        unseen_to_train=float(nearest_distances(unseen, train_flat).median()),
    )


# --------------------------------------------------------------------------- input checks


def as_flat_digits(samples: torch.Tensor | np.ndarray, *, min_samples: int = MIN_SAMPLES) -> torch.Tensor:
    """Validate generated digits and return them as a float32 tensor of shape (N, 64).

    Accepts (N, 64) or (N, 1, 8, 8) with values in [0, 1]; raises ``JudgeInputError``
    with what is wrong and what to do otherwise.
    """
    if isinstance(samples, np.ndarray):
        samples = torch.from_numpy(samples)
    if not isinstance(samples, torch.Tensor):
        raise JudgeInputError(
            f"the judge needs a torch.Tensor (or NumPy array) of images, got {type(samples).__name__}."
        )
    x = samples.detach().cpu()
    if not x.is_floating_point():
        raise JudgeInputError(
            f"the samples have dtype {x.dtype}; pass floats in [0, 1] (for 0-16 pixel counts use x.float() / 16)."
        )
    shape = tuple(x.shape)
    if x.dim() == 4 and shape[1:] == (1, 8, 8):
        x = x.reshape(shape[0], N_PIXELS)
    elif x.dim() == 3 and shape[1:] == (8, 8):
        raise JudgeInputError(
            f"the samples have shape {shape}: add the channel dimension (x.unsqueeze(1)) or flatten to (N, 64)."
        )
    elif not (x.dim() == 2 and shape[1] == N_PIXELS):
        raise JudgeInputError(
            f"the judge scores 8x8 digits of shape (N, 64) or (N, 1, 8, 8); got shape {shape}."
            + (" A single image? Add a batch dimension and pass many samples." if x.dim() == 1 else "")
        )
    if len(x) < min_samples:
        raise JudgeInputError(
            f"got {len(x)} samples; the judge needs at least {min_samples} (1,000 is typical) "
            "to estimate a class histogram and a feature covariance."
        )
    if not torch.isfinite(x).all():
        raise JudgeInputError("the samples contain NaN or infinite values: your generator diverged or divided by 0.")
    low, high = float(x.min()), float(x.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        if low >= -1 - RANGE_TOLERANCE and high <= 1 + RANGE_TOLERANCE:
            advice = "they look like Tanh outputs in [-1, 1]: map them with (x + 1) / 2."
        elif high <= 16 + RANGE_TOLERANCE and low >= -RANGE_TOLERANCE:
            advice = "they look like raw 0-16 pixel counts: divide by 16."
        else:
            advice = "clamp them with x.clamp(0, 1) after mapping them to pixel intensities."
        raise JudgeInputError(f"pixel values must lie in [0, 1]; got values from {low:.4g} to {high:.4g}: {advice}")
    return x.float().clamp(0, 1)


# --------------------------------------------------------------------------- scores


def predict_proba(samples: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Class probabilities (N, 10) of the reference classifier."""
    x = as_flat_digits(samples, min_samples=1)
    with torch.no_grad():
        return reference_classifier()(x).softmax(dim=1)


def features(samples: torch.Tensor | np.ndarray) -> np.ndarray:
    """Penultimate features (N, 64) as a float64 NumPy array."""
    x = as_flat_digits(samples, min_samples=1)
    with torch.no_grad():
        return reference_classifier().features(x).double().numpy()


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples), in float64.

    ``‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})``. The trace of the matrix square
    root is computed stably as the sum of square roots of the eigenvalues of the
    symmetric matrix ``Σ_a^{1/2} Σ_b Σ_a^{1/2}`` (it has the same eigenvalues as Σ_a Σ_b).
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two (N, D) arrays with the same D; got {a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least 2 rows in each set to estimate a covariance.")
    mean_gap = a.mean(0) - b.mean(0)
    cov_a = np.cov(a, rowvar=False)
    cov_b = np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0.0, None)).sum()
    distance = float(mean_gap @ mean_gap + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)
    return max(distance, 0.0)


_real_features: dict[str, np.ndarray] = {}


def real_test_features(recipe: Mapping = RECIPE) -> np.ndarray:
    """Features of the 359 real test digits (the Fréchet reference)."""
    key = recipe_hash(recipe)
    if key not in _real_features:
        _, _, X_test, _ = _training_data(recipe)
        with torch.no_grad():
            _real_features[key] = reference_classifier(recipe).features(X_test).double().numpy()
    return _real_features[key]


@dataclass(frozen=True)
class JudgeScores:
    """What the judge says about one batch of samples."""

    n_samples: int
    confidence: float
    class_fractions: tuple[float, ...]
    frechet: float

    @property
    def min_class_fraction(self) -> float:
        """The share of the rarest class: 0 means a digit is missing altogether."""
        return min(self.class_fractions)

    def classes_below(self, fraction: float) -> list[int]:
        """Digits that make up less than ``fraction`` of the samples."""
        return [digit for digit, share in enumerate(self.class_fractions) if share < fraction]

    def summary(self, name: str = "samples") -> str:
        """Three lines: confidence, coverage, Fréchet distance (4 decimals, stable for notebooks)."""
        shares = " ".join(f"{digit}:{share:.3f}" for digit, share in enumerate(self.class_fractions))
        return (
            f"{name} ({self.n_samples} images)\n"
            f"  mean confidence   {self.confidence:.4f}\n"
            f"  class shares      {shares}  (rarest {self.min_class_fraction:.4f})\n"
            f"  Fréchet distance  {self.frechet:.4f}"
        )


def score(samples: torch.Tensor | np.ndarray) -> JudgeScores:
    """Judge generated digits of shape (N, 64) or (N, 1, 8, 8) with values in [0, 1]."""
    x = as_flat_digits(samples)
    model = reference_classifier()
    with torch.no_grad():
        probabilities = model(x).softmax(dim=1)
        feats = model.features(x).double().numpy()
    counts = torch.bincount(probabilities.argmax(dim=1), minlength=N_CLASSES).double()
    return JudgeScores(
        n_samples=len(x),
        confidence=float(probabilities.max(dim=1).values.double().mean()),
        class_fractions=tuple(float(c) for c in counts / len(x)),
        frechet=frechet_distance(feats, real_test_features()),
    )


def comparison_table(scores: Mapping[str, JudgeScores]) -> str:
    """A plain-text table of several judged batches, one row each."""
    if not scores:
        raise ValueError("comparison_table needs at least one named JudgeScores.")
    width = max(12, *(len(name) for name in scores))
    lines = [f"{'':<{width}}  confidence  rarest class  Fréchet distance"]
    for name, s in scores.items():
        lines.append(f"{name:<{width}}  {s.confidence:>10.4f}  {s.min_class_fraction:>12.4f}  {s.frechet:>16.4f}")
    return "\n".join(lines)


def class_histogram_figure(scores: Mapping[str, JudgeScores], *, title: str = "Which digits did it make?"):
    """Bar chart of the class shares of one or more judged batches (a uniform generator sits at 0.1)."""
    import matplotlib.pyplot as plt

    if not scores:
        raise ValueError("class_histogram_figure needs at least one named JudgeScores.")
    fig, ax = plt.subplots(figsize=(7, 2.8))
    width = 0.8 / len(scores)
    digits = np.arange(N_CLASSES)
    for i, (name, s) in enumerate(scores.items()):
        ax.bar(digits + (i - (len(scores) - 1) / 2) * width, s.class_fractions, width=width, label=name)
    ax.axhline(0.1, color="k", lw=0.8, ls="--", label="uniform (0.1)")
    ax.set_xticks(digits)
    ax.set_xlabel("digit predicted by the judge")
    ax.set_ylabel("share of samples")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(4, len(scores) + 1))
    fig.tight_layout()
    return fig
