"""Self-supervised and contrastive learning for notebook 19 (SimCLR and a CLIP-style dual encoder).

* ``nt_xent`` / ``nt_xent_loops``: SimCLR's NT-Xent loss, vectorised (one ``F.cross_entropy``
  over the masked similarity matrix) and as a plain double loop over the formula.
* ``clip_loss`` / ``clip_loss_loops``: the symmetric image-text contrastive loss of CLIP.
* ``augment``: random views of 8x8 digits (rotation, scale, shift, noise, cut-out) in one
  vectorised step; ``views_figure`` shows two views per image.
* ``Encoder``, ``train_simclr``, ``embed``: a small MLP encoder trained with NT-Xent.
* ``per_class_subset``, ``fit_probe``, ``probe_accuracy``, ``train_supervised``: a linear probe on
  frozen features, and supervised training from scratch, for a given label budget.
* Captions: ``DIGIT_WORDS``, ``TRAIN_TEMPLATES``, ``ZERO_SHOT_TEMPLATE``, ``caption``, ``Vocabulary``;
  ``DualEncoder``, ``train_clip``, ``zero_shot_logits``.
* ``alignment``, ``uniformity``, ``temperature_figure`` and ``TemperatureExplorer``, the widget shell.

Everything except ``TemperatureExplorer`` is pure (training functions use only the generator
they are given, or torch's global one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.models import mlp
from course_utils.topics.regularization import small_subset
from course_utils.widgets import Explorer

SIDE = 8  # the digits are 8x8


# --------------------------------------------------------------------------- input checks


def _check_pair(z1: torch.Tensor, z2: torch.Tensor, names: tuple[str, str] = ("z1", "z2")) -> None:
    if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
        raise ValueError(f"{names[0]} and {names[1]} must be tensors; got {type(z1).__name__} and "
                         f"{type(z2).__name__}.")
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(f"{names[0]} and {names[1]} must be 2-D tensors of the same shape (N, d), one row per "
                         f"example; got {tuple(z1.shape)} and {tuple(z2.shape)}.")
    if z1.shape[0] < 2:
        raise ValueError(f"a contrastive loss needs at least 2 pairs, so that there are negatives; "
                         f"got N = {z1.shape[0]}.")


def _check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature > 0 \
            or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number (e.g. 0.5); got {temperature!r}.")


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (1, SIDE, SIDE):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected a batch of 8x8 digits of shape (N, 1, 8, 8); got {shape}. "
                         "Reshape flat digits with X.view(-1, 1, 8, 8).")


# --------------------------------------------------------------------------- the losses


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's NT-Xent loss of N positive pairs (row k of ``z1`` with row k of ``z2``), vectorised.

    The 2N embeddings are L2-normalised; their cosine similarities divided by the temperature are
    the logits of a 2N-way classification in which each view must pick its partner among the
    2N − 1 others (the diagonal, a view with itself, is masked out). Mean over the 2N views.
    """
    _check_pair(z1, z2)
    _check_temperature(temperature)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, partner)


def nt_xent_loops(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> float:
    """NT-Xent written as the formula, with plain Python loops over the 2N views (slow; for checking)."""
    _check_pair(z1, z2)
    _check_temperature(temperature)
    z = torch.cat([z1, z2]).double().tolist()
    n2 = len(z)
    n = n2 // 2

    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    total = 0.0
    for i in range(n2):
        j = (i + n) % n2  # the other view of the same image
        denominator = sum(math.exp(cosine(z[i], z[k]) / temperature) for k in range(n2) if k != i)
        total += -math.log(math.exp(cosine(z[i], z[j]) / temperature) / denominator)
    return total / n2


def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, temperature: float | torch.Tensor = 0.1
              ) -> torch.Tensor:
    """CLIP's symmetric loss: row k of ``image_emb`` belongs with row k of ``text_emb``.

    Logits are cosine similarities / temperature (an N x N matrix, images along rows); the loss is
    the mean of the image-to-text cross-entropy (each row picks its caption) and the text-to-image
    one (each column picks its image). ``temperature`` may be a tensor (a learned one).
    """
    _check_pair(image_emb, text_emb, ("image_emb", "text_emb"))
    if not isinstance(temperature, torch.Tensor):
        _check_temperature(temperature)
    logits = F.normalize(image_emb, dim=1) @ F.normalize(text_emb, dim=1).T / temperature
    targets = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def clip_loss_loops(image_emb: torch.Tensor, text_emb: torch.Tensor, temperature: float = 0.1) -> float:
    """The symmetric CLIP loss with plain loops (slow; for checking ``clip_loss``)."""
    _check_pair(image_emb, text_emb, ("image_emb", "text_emb"))
    _check_temperature(temperature)
    u = F.normalize(image_emb.double(), dim=1).tolist()
    v = F.normalize(text_emb.double(), dim=1).tolist()
    n = len(u)
    s = [[sum(a * b for a, b in zip(u[i], v[j], strict=True)) / temperature for j in range(n)] for i in range(n)]
    image_to_text = sum(-s[i][i] + math.log(sum(math.exp(s[i][j]) for j in range(n))) for i in range(n)) / n
    text_to_image = sum(-s[j][j] + math.log(sum(math.exp(s[i][j]) for i in range(n))) for j in range(n)) / n
    return (image_to_text + text_to_image) / 2


# --------------------------------------------------------------------------- augmentations


@dataclass(frozen=True)
class Augment:
    """Strengths of the random view: each image gets its own draw of every part."""

    degrees: float = 15.0  # rotation up to ± degrees
    scale: float = 0.1  # zoom by a factor in [1 − scale, 1 + scale]
    shift: float = 1.0  # translation up to ± shift pixels, each axis
    noise: float = 0.1  # Gaussian pixel noise (std, images are in [0, 1])
    cutout: float = 0.5  # probability of erasing one random 3x3 square

    def __post_init__(self) -> None:
        for name in ("degrees", "scale", "shift", "noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0; got {getattr(self, name)!r}.")
        if not 0 <= self.scale < 1:
            raise ValueError(f"scale must be in [0, 1) (a zoom factor 1 ± scale); got {self.scale!r}.")
        if not 0 <= self.cutout <= 1:
            raise ValueError(f"cutout is a probability and must be in [0, 1]; got {self.cutout!r}.")


def augment(images: torch.Tensor, recipe: Augment = Augment(), *, generator: torch.Generator | None = None
            ) -> torch.Tensor:
    """One random view of every digit of a batch (N, 1, 8, 8), values kept in [0, 1].

    A random affine map (rotation, zoom, shift; ``F.affine_grid`` + bilinear ``F.grid_sample``,
    zeros outside), then Gaussian noise, then with probability ``recipe.cutout`` a 3x3 square set
    to 0. No flips: a mirrored 2 or a rotated 6 is no longer the same digit.
    """
    _check_images(images)
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = torch.deg2rad(uniform(-recipe.degrees, recipe.degrees))
    zoom = uniform(1 - recipe.scale, 1 + recipe.scale)
    # affine_grid works in [-1, 1] coordinates: one pixel is 2 / 8 of the image
    tx, ty = (uniform(-recipe.shift, recipe.shift) * 2 / SIDE for _ in range(2))
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if recipe.noise > 0:
        out = out + recipe.noise * torch.randn(out.shape, generator=generator)
    if recipe.cutout > 0:
        top = torch.randint(0, SIDE - 2, (n,), generator=generator)
        left = torch.randint(0, SIDE - 2, (n,), generator=generator)
        erase = torch.rand(n, generator=generator) < recipe.cutout
        rows = torch.arange(SIDE)
        in_rows = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + 3)  # (N, 8)
        in_cols = (rows[None, :] >= left[:, None]) & (rows[None, :] < left[:, None] + 3)
        square = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]
        out = out.masked_fill(square[:, None], 0.0)
    return out.clamp(0.0, 1.0)


def views_figure(images: torch.Tensor, recipe: Augment = Augment(), *, generator: torch.Generator | None = None
                 ) -> Figure:
    """Each digit (a column) above two random views of it: the positive pair SimCLR sees."""
    _check_images(images)
    first, second = augment(images, recipe, generator=generator), augment(images, recipe, generator=generator)
    n = images.shape[0]
    fig, axes = plt.subplots(3, n, figsize=(0.8 * n, 2.7))
    axes = np.asarray(axes).reshape(3, n)
    for row, (name, batch) in enumerate((("digit", images), ("view 1", first), ("view 2", second))):
        for k in range(n):
            ax = axes[row, k]
            ax.imshow(batch[k, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle("two random views of each digit (a positive pair)", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- SimCLR


class Encoder(nn.Module):
    """Flat digit → MLP 64 → width → width (the representation h) → projection head → z."""

    def __init__(self, width: int = 256, out_dim: int = 64) -> None:
        super().__init__()
        if width < 1 or out_dim < 1:
            raise ValueError(f"width and out_dim must be positive; got {width} and {out_dim}.")
        self.backbone = nn.Sequential(nn.Flatten(), mlp([SIDE * SIDE, width, width], final_activation=True))
        self.head = mlp([width, width, out_dim])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


@dataclass
class SimCLRRun:
    """What ``train_simclr`` returns: the encoder and the loss of every epoch."""

    encoder: Encoder
    losses: list[float] = field(default_factory=list)


def _check_training(epochs: int, batch_size: int = 2, n: int | None = None) -> None:
    rules = (("epochs", epochs, 1, "a positive int"),
             ("batch_size", batch_size, 2, "an int ≥ 2 (a contrastive batch needs negatives)"))
    for name, value, least, what in rules:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be {what}; got {value!r}.")
    if n is not None and n < batch_size:
        raise ValueError(f"there are only {n} images for batches of {batch_size}; use a smaller batch_size.")


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One optimizer step on ``loss``; returns its value."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _epochs(n: int, batch_size: int, epochs: int, generator: torch.Generator | None, batch_loss) -> list[float]:
    """Shuffle ``n`` rows each epoch, call ``batch_loss(rows)`` on every full batch (it takes its own step and
    returns the loss), and return the mean loss of every epoch; the last incomplete batch is dropped."""
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        values = [batch_loss(order[start:start + batch_size]) for start in range(0, n - batch_size + 1, batch_size)]
        losses.append(sum(values) / len(values))
    return losses


def train_simclr(images: torch.Tensor, *, epochs: int = 30, batch_size: int = 256, temperature: float = 0.5,
                 lr: float = 2e-3, recipe: Augment = Augment(), width: int = 256,
                 generator: torch.Generator | None = None) -> SimCLRRun:
    """Train an ``Encoder`` with NT-Xent on two random views of each image; no labels are used.

    Initial weights come from torch's global generator; batches and views from ``generator``.
    The last incomplete batch of each epoch is dropped.
    """
    _check_images(images)
    _check_training(epochs, batch_size, len(images))
    _check_temperature(temperature)
    encoder = Encoder(width)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)

    def batch_loss(rows: torch.Tensor) -> float:
        v1, v2 = (augment(images[rows], recipe, generator=generator) for _ in range(2))
        return _step(optimizer, nt_xent(encoder(v1), encoder(v2), temperature))

    run = SimCLRRun(encoder, _epochs(len(images), batch_size, epochs, generator, batch_loss))
    encoder.eval()
    return run


@torch.no_grad()
def embed(encoder: Encoder, images: torch.Tensor, *, projected: bool = False) -> torch.Tensor:
    """Frozen features of a trained encoder: the representation h (default) or the projection z."""
    encoder.eval()
    h = encoder.backbone(images)
    return encoder.head(h) if projected else h


# --------------------------------------------------------------------------- few labels


def per_class_subset(y: torch.Tensor, per_class: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted indices of ``per_class`` random examples of every class in ``y`` (a label budget)."""
    if isinstance(per_class, bool):
        raise ValueError(f"per_class must be a positive int (labels per class); got {per_class!r}.")
    return small_subset(y, per_class, generator=generator)


def standardize(train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Scale features by the mean and standard deviation of ``train`` (computed on it alone)."""
    mean, std = train.mean(0), train.std(0, unbiased=False).clamp_min(1e-6)
    return tuple((t - mean) / std for t in (train, *others))


def fit_probe(features: torch.Tensor, labels: torch.Tensor, *, l2: float = 1.0, n_classes: int = 10,
              max_iter: int = 200) -> nn.Linear:
    """Multinomial logistic regression on frozen features, trained to convergence with L-BFGS.

    Minimises  sum_i CE(W f_i + b, y_i) + (l2 / 2) ||W||²  (the bias is not penalised), the
    objective of scikit-learn's ``LogisticRegression(C=1 / l2)``. Float64 for a tight optimum.
    """
    if features.dim() != 2 or labels.dim() != 1 or len(features) != len(labels):
        raise ValueError(f"fit_probe needs features (N, d) and labels (N,); got {tuple(features.shape)} and "
                         f"{tuple(labels.shape)}.")
    if not l2 > 0:
        raise ValueError(f"l2 must be > 0 (with few labels the unpenalised optimum may not exist); got {l2!r}.")
    X = features.double()
    probe = nn.Linear(X.shape[1], n_classes).double()
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(probe(X), labels, reduction="sum") + 0.5 * l2 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe.float()


@torch.no_grad()
def probe_accuracy(probe: nn.Linear, features: torch.Tensor, labels: torch.Tensor) -> float:
    return (probe(features.to(probe.weight.dtype)).argmax(1) == labels).float().mean().item()


def train_supervised(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 100, lr: float = 1e-3,
                     recipe: Augment | None = Augment(), width: int = 256,
                     generator: torch.Generator | None = None) -> nn.Module:
    """The same backbone plus a linear layer, trained from scratch on the labelled images only.

    Full-batch Adam with cross-entropy; with a ``recipe`` every step sees fresh random views
    (the same augmentations SimCLR uses), so the comparison is fair to the supervised model.
    """
    _check_images(images)
    _check_training(epochs)
    model = nn.Sequential(Encoder(width).backbone, nn.Linear(width, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        batch = augment(images, recipe, generator=generator) if recipe is not None else images
        _step(optimizer, F.cross_entropy(model(batch), labels))
    model.eval()
    return model


@torch.no_grad()
def model_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return (model(images).argmax(1) == labels).float().mean().item()


# --------------------------------------------------------------------------- captions


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# the templates of the training captions; {word} is the digit's name, {digit} its numeral
TRAIN_TEMPLATES = (
    "a handwritten {word}",
    "the digit {digit}",
    "{word} , an {parity} number",
    "a small picture of a {word}",
    "the number {digit} written by hand",
    "{digit}",
)
# the prompt used for zero-shot classification: known words, but never this sentence in training
ZERO_SHOT_TEMPLATE = "a picture of the number {word}"


def caption(label: int, template: str) -> str:
    """The caption of a digit from a template, e.g. caption(7, "a handwritten {word}")."""
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"label must be a digit 0-9 (an int); got {label!r}.")
    return template.format(word=DIGIT_WORDS[label], digit=str(label), parity="even" if label % 2 == 0 else "odd")


class Vocabulary:
    """Whitespace tokens → ids; id 0 is padding, id 1 stands for any word not seen when it was built."""

    PAD, UNKNOWN = 0, 1

    def __init__(self, texts: Sequence[str]) -> None:
        words = sorted({w for t in texts for w in t.split()})
        self.ids = {w: i + 2 for i, w in enumerate(words)}

    def __len__(self) -> int:
        return len(self.ids) + 2

    def encode(self, texts: Sequence[str], length: int = 8) -> torch.Tensor:
        """Token ids (len(texts), length), padded with 0; longer texts raise ValueError."""
        if isinstance(texts, str):
            raise ValueError("encode takes a list of texts; wrap a single caption in a list.")
        rows = []
        for text in texts:
            ids = [self.ids.get(w, self.UNKNOWN) for w in text.split()]
            if len(ids) > length:
                raise ValueError(f"{text!r} has {len(ids)} words, more than length={length}; pass a larger length.")
            rows.append(ids + [self.PAD] * (length - len(ids)))
        return torch.tensor(rows, dtype=torch.int64)


def all_training_captions() -> list[str]:
    return [caption(d, t) for d in range(10) for t in TRAIN_TEMPLATES]


class TextEncoder(nn.Module):
    """Token ids → mean of word embeddings (padding ignored) → MLP: a bag of words."""

    def __init__(self, vocab_size: int, width: int = 128, out_dim: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, width, padding_idx=Vocabulary.PAD)
        self.mlp = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, out_dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != Vocabulary.PAD).float().unsqueeze(-1)
        mean = (self.embedding(tokens) * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        return self.mlp(mean)


class DualEncoder(nn.Module):
    """CLIP in miniature: an image MLP and a text bag-of-words, both into one 64-d space, and a
    learned temperature τ = exp(−log_scale), started at 0.1 (CLIP starts at 0.07) and kept ≥ 0.01 as CLIP does."""

    def __init__(self, vocab_size: int, width: int = 256, out_dim: int = 64) -> None:
        super().__init__()
        self.image = Encoder(width, out_dim)
        self.text = TextEncoder(vocab_size, 128, out_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    @property
    def temperature(self) -> torch.Tensor:
        return torch.exp(-self.log_scale.clamp(max=math.log(100.0)))


@dataclass
class ClipRun:
    model: DualEncoder
    vocab: Vocabulary
    losses: list[float] = field(default_factory=list)


def train_clip(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 30, batch_size: int = 64,
               lr: float = 2e-3, recipe: Augment | None = Augment(),
               generator: torch.Generator | None = None) -> ClipRun:
    """Train a ``DualEncoder`` on (image, caption) pairs: every image gets a random training caption of its
    label each time it is drawn, and the symmetric ``clip_loss`` pulls matching pairs together.

    The labels enter only through the caption text. Images are augmented with ``recipe``.
    """
    _check_images(images)
    _check_training(epochs, batch_size, len(images))
    vocab = Vocabulary(all_training_captions())
    table = torch.stack([vocab.encode([caption(d, t) for t in TRAIN_TEMPLATES]) for d in range(10)])  # (10, T, L)
    model = DualEncoder(len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def batch_loss(rows: torch.Tensor) -> float:
        batch = images[rows] if recipe is None else augment(images[rows], recipe, generator=generator)
        which = torch.randint(0, len(TRAIN_TEMPLATES), (len(rows),), generator=generator)
        tokens = table[labels[rows], which]
        return _step(optimizer, clip_loss(model.image(batch), model.text(tokens), model.temperature))

    run = ClipRun(model, vocab, _epochs(len(images), batch_size, epochs, generator, batch_loss))
    model.eval()
    return run


def clip_loss_floor(labels: torch.Tensor, batch_size: int, *, epochs: int = 20,
                    generator: torch.Generator | None = None) -> float:
    """The lowest symmetric CLIP loss a model can reach when captions say only the class: in a batch, an
    image cannot tell its own caption from the other captions of its class (false negatives), so at best it
    spreads its probability evenly over them and pays log(count of its class in the batch). Mean over the
    batches of ``epochs`` random shuffles, drawn as ``train_clip`` draws them."""
    _check_training(epochs, batch_size, len(labels))

    def batch_floor(rows: torch.Tensor) -> float:
        batch = labels[rows]
        same = (batch[:, None] == batch[None, :]).sum(1).double()
        return same.log().mean().item()

    return sum(_epochs(len(labels), batch_size, epochs, generator, batch_floor)) / epochs


@torch.no_grad()
def prompt_logits(run: ClipRun, images: torch.Tensor, prompts: Sequence[str]) -> torch.Tensor:
    """Cosine similarity of every image with every prompt (N, len(prompts)): a classifier written in text."""
    _check_images(images)
    if isinstance(prompts, str) or len(prompts) < 2:
        raise ValueError(f"prompts must be a list of at least two texts, one per class; got {prompts!r}.")
    run.model.eval()
    image = F.normalize(run.model.image(images), dim=1)
    text = F.normalize(run.model.text(run.vocab.encode(list(prompts))), dim=1)
    return image @ text.T


def zero_shot_logits(run: ClipRun, images: torch.Tensor, template: str = ZERO_SHOT_TEMPLATE) -> torch.Tensor:
    """Cosine similarity of every image with the prompt of each of the ten digits (N, 10)."""
    if "{word}" not in template and "{digit}" not in template:
        raise ValueError(f"the prompt template must contain {{word}} or {{digit}}; got {template!r}.")
    return prompt_logits(run, images, [caption(d, template) for d in range(10)])


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is at the label."""
    return (logits.argmax(1) == labels).float().mean().item()


def pca_features(reference: torch.Tensor, *others: torch.Tensor, dim: int = 32) -> tuple[torch.Tensor, ...]:
    """Project flattened images on the top ``dim`` principal directions of ``reference`` (no labels used)."""
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= reference[0].numel():
        raise ValueError(f"dim must be an int between 1 and {reference[0].numel()}; got {dim!r}.")
    flat = reference.flatten(1).double()
    mean = flat.mean(0)
    directions = torch.linalg.svd(flat - mean, full_matrices=False).Vh[:dim].T
    return tuple(((t.flatten(1).double() - mean) @ directions).float() for t in (reference, *others))


def top1_retrieval(z1: torch.Tensor, z2: torch.Tensor) -> float:
    """Fraction of the 2N views whose most similar other view (cosine) is their partner."""
    _check_pair(z1, z2)
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = (z @ z.T).fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return accuracy(similarity, partner)


# --------------------------------------------------------------------------- geometry and temperature


def alignment(z1: torch.Tensor, z2: torch.Tensor) -> float:
    """Wang & Isola's alignment: mean squared distance of normalised positive pairs (0 = identical)."""
    _check_pair(z1, z2)
    return (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).pow(2).sum(1).mean().item()


def uniformity(z: torch.Tensor, t: float = 2.0) -> float:
    """log of the mean of exp(−t·||u − v||²) over distinct pairs of normalised rows (lower = more spread)."""
    if z.dim() != 2 or len(z) < 2:
        raise ValueError(f"uniformity needs at least two embeddings (N, d); got {tuple(z.shape)}.")
    u = F.normalize(z, dim=1)
    d2 = torch.pdist(u).pow(2)
    return torch.log(torch.exp(-t * d2).mean()).item()


def softmax_over_batch(z1: torch.Tensor, z2: torch.Tensor, temperature: float, anchor: int = 0) -> torch.Tensor:
    """The 2N − 1 probabilities NT-Xent gives to the candidates of view ``anchor`` (its own slot set to 0)."""
    _check_pair(z1, z2)
    _check_temperature(temperature)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    if isinstance(anchor, bool) or not isinstance(anchor, int) or not 0 <= anchor < len(z):
        raise ValueError(f"anchor must be an index of one of the {len(z)} views; got {anchor!r}.")
    logits = (z @ z[anchor]) / temperature
    logits[anchor] = float("-inf")
    return F.softmax(logits, dim=0)


def temperature_figure(z1: torch.Tensor, z2: torch.Tensor, temperature: float, *, trained_at: float,
                       anchor: int = 0, taus: Sequence[float] | None = None, curve: Sequence[float] | None = None
                       ) -> Figure:
    """Three panels for one temperature: the softmax of one anchor over the batch, NT-Xent against τ,
    and the histogram of positive vs negative cosine similarities (which τ does not change)."""
    n = len(z1)
    probs = softmax_over_batch(z1, z2, temperature, anchor)
    partner = (anchor + n) % (2 * n)
    taus = list(taus) if taus is not None else list(np.geomspace(0.02, 2.0, 30))
    curve = list(curve) if curve is not None else [nt_xent(z1, z2, t).item() for t in taus]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    order = torch.argsort(probs, descending=True)[:20]
    colours = ["tab:green" if int(k) == partner else "tab:grey" for k in order]
    axes[0].bar(range(len(order)), probs[order].numpy(), color=colours)
    axes[0].set_ylim(0, 1)
    axes[0].set_xlabel("the 20 most likely candidates (green: the other view)")
    axes[0].set_ylabel("softmax probability")
    axes[0].set_title(f"one anchor at τ = {temperature:.3g}", fontsize=10)
    axes[1].plot(taus, curve, color="tab:blue")
    axes[1].axvline(temperature, color="tab:red", ls="--", label=f"τ = {temperature:.3g}")
    axes[1].axvline(trained_at, color="k", ls=":", label=f"trained at τ = {trained_at:g}")
    axes[1].axhline(math.log(2 * n - 1), color="grey", lw=0.8, label="log(2N − 1): no information")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("temperature τ (log)")
    axes[1].set_ylabel("NT-Xent on this batch")
    axes[1].legend(fontsize=7)
    u = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = u @ u.T
    positives = similarity.diagonal(n)
    is_negative = ~torch.eye(2 * n, dtype=torch.bool)
    is_negative[torch.arange(2 * n), torch.cat([torch.arange(n, 2 * n), torch.arange(n)])] = False
    negatives = similarity[torch.triu(is_negative, 1)]  # each pair once, within and across the two views
    axes[2].hist(negatives.numpy(), bins=40, density=True, alpha=0.6, label="negatives (both views)")
    axes[2].hist(positives.numpy(), bins=20, density=True, alpha=0.6, label="positive pairs")
    axes[2].set_xlabel("cosine similarity")
    axes[2].set_title("the geometry (independent of τ)", fontsize=10)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


class TemperatureExplorer(Explorer):
    """Widget shell: temperature τ (log slider) and the anchor → ``temperature_figure`` of a trained encoder.

    The embeddings of one batch of two views and the loss curve over τ are computed once; a redraw
    only recomputes one softmax, so it is cheap.
    """

    description = "a log slider for the temperature τ and a slider choosing the anchor view"

    def __init__(self, z1: torch.Tensor, z2: torch.Tensor, *, trained_at: float, temperature: float = 0.5,
                 anchor: int = 0) -> None:
        import ipywidgets as w

        _check_pair(z1, z2)
        _check_temperature(temperature)
        self.z1, self.z2, self.trained_at = z1.detach(), z2.detach(), trained_at
        self.taus = [float(t) for t in np.geomspace(0.02, 2.0, 30)]
        self.curve = [nt_xent(self.z1, self.z2, t).item() for t in self.taus]
        style = {"description_width": "90px"}
        self.temperature = w.FloatLogSlider(value=temperature, base=10, min=math.log10(0.02), max=math.log10(2.0),
                                            step=0.05, description="temperature τ", readout_format=".3g",
                                            continuous_update=False, style=style)
        self.anchor = w.IntSlider(value=anchor, min=0, max=2 * len(z1) - 1, description="anchor view",
                                  continuous_update=False, style=style)
        self.start((self.temperature, self.anchor))

    def figure(self) -> Figure:
        return temperature_figure(self.z1, self.z2, float(self.temperature.value), trained_at=self.trained_at,
                                  anchor=int(self.anchor.value), taus=self.taus, curve=self.curve)

    def on_redraw(self) -> None:
        tau, anchor, n = float(self.temperature.value), int(self.anchor.value), len(self.z1)
        self.partner_probability = softmax_over_batch(self.z1, self.z2, tau, anchor)[(anchor + n) % (2 * n)].item()
        self.loss = nt_xent(self.z1, self.z2, tau).item()
        self.status.value = (f"τ = {tau:.3g}: the anchor gives its other view probability "
                             f"<b>{self.partner_probability:.2f}</b>; NT-Xent on this batch <b>{self.loss:.2f}</b> "
                             f"(chance level log(2N − 1) = {math.log(2 * n - 1):.2f})")
