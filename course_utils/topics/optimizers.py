"""Optimizers and learning-rate schedules from scratch, for notebook 14.

* ``SGD`` (momentum, Nesterov), ``Adagrad``, ``RMSprop``, ``Adam`` (L2 penalty, optional bias
  correction) and ``AdamW``: each update rule written out, with ``torch.optim``'s defaults and
  conventions, so that ``step_by_step`` can compare every step with PyTorch's class.
* ``scratch_schedule`` / ``torch_schedule``: the learning rate of each step for StepLR, cosine,
  linear warm-up + cosine (``LinearLR`` + ``SequentialLR``) and one-cycle, by formula and by
  PyTorch's schedulers; ``make_scheduler`` builds the PyTorch one for a training run.
* ``clip_grad_norm``: global-norm clipping, as ``torch.nn.utils.clip_grad_norm_`` does it.
* ``train_digits``: one small, seeded MLP training on the digits with a chosen optimizer,
  schedule (``"plateau"`` steps ``ReduceLROnPlateau`` with the validation loss) and clipping.
* ``lr_range_test``: the learning-rate range test; ``decay_experiment``: Adam + L2 vs AdamW.
* ``ScheduleDesigner``: the widget shell (an ``Explorer``) over ``train_digits``.

Everything except ``ScheduleDesigner`` is pure (apart from seeding torch for a run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- optimizers


class ScratchOptimizer:
    """The common part: a list of parameters, a learning rate, per-parameter state, ``zero_grad``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("the optimizer got no parameters: pass model.parameters().")
        if not (isinstance(lr, int | float) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number; got {lr!r}.")
        self.lr = float(lr)
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.params]
        self.t = 0  # number of steps taken

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self.update(p, p.grad, state)

    def update(self, p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError


class SGD(ScratchOptimizer):
    """v = μ·v + g (v = g at the first step);  Nesterov: d = g + μ·v, else d = v;  p ← p − lr·d."""

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0, e.g. SGD(params, lr, momentum=0.9, nesterov=True).")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "v" not in state:
                state["v"] = g.clone()
            else:
                state["v"] = self.momentum * state["v"] + g
            g = g + self.momentum * state["v"] if self.nesterov else state["v"]
        p -= self.lr * g


class Adagrad(ScratchOptimizer):
    """s ← s + g²;  p ← p − lr·g / (√s + ε): every step is divided by the whole gradient history."""

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.eps = eps

    def update(self, p, g, state):
        state["s"] = state.get("s", torch.zeros_like(p)) + g * g
        p -= self.lr * g / (state["s"].sqrt() + self.eps)


class RMSprop(ScratchOptimizer):
    """s ← α·s + (1−α)·g²;  p ← p − lr·g / (√s + ε): a running mean that forgets old gradients."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def update(self, p, g, state):
        state["s"] = self.alpha * state.get("s", torch.zeros_like(p)) + (1 - self.alpha) * g * g
        p -= self.lr * g / (state["s"].sqrt() + self.eps)


class Adam(ScratchOptimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − lr·m̂ / (√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).

    ``weight_decay`` adds λ·p to the gradient (an L2 penalty, as ``torch.optim.Adam`` does);
    ``bias_correction=False`` uses m and v as they are (to see what the correction is for).
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, bias_correction: bool = True) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must both lie in [0, 1); got {betas!r}.")
        self.betas, self.eps, self.weight_decay, self.bias_correction = betas, eps, weight_decay, bias_correction

    def update(self, p, g, state):
        beta1, beta2 = self.betas
        if self.weight_decay and self.decoupled:
            p.mul_(1 - self.lr * self.weight_decay)       # AdamW: shrink p directly
        elif self.weight_decay:
            g = g + self.weight_decay * p                  # Adam: L2 term goes through m and v
        state["m"] = beta1 * state.get("m", torch.zeros_like(p)) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", torch.zeros_like(p)) + (1 - beta2) * g * g
        m_hat, v_hat = state["m"], state["v"]
        if self.bias_correction:
            m_hat = m_hat / (1 - beta1**self.t)
            v_hat = v_hat / (1 - beta2**self.t)
        p -= self.lr * m_hat / (v_hat.sqrt() + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·λ) before the Adam step; λ never enters m or v."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


# name -> (scratch class, torch class, keyword arguments used in the notebook's comparison)
OPTIMIZERS: dict[str, tuple[type, type, dict]] = {
    "SGD": (SGD, torch.optim.SGD, {"lr": 0.1}),
    "SGD + momentum": (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "Nesterov": (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "Adagrad": (Adagrad, torch.optim.Adagrad, {"lr": 0.05}),
    "RMSprop": (RMSprop, torch.optim.RMSprop, {"lr": 0.003}),
    "Adam": (Adam, torch.optim.Adam, {"lr": 0.003}),
    "Adam + L2": (Adam, torch.optim.Adam, {"lr": 0.003, "weight_decay": 0.1}),
    "AdamW": (AdamW, torch.optim.AdamW, {"lr": 0.003, "weight_decay": 0.1}),
}


def small_mlp(seed: int, hidden: int = 64, n_in: int = 64, n_out: int = 10) -> nn.Sequential:
    """A 64-hidden-unit ReLU MLP for the 8x8 digits, initialised from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def step_by_step(name: str, X: torch.Tensor, y: torch.Tensor, steps: int = 30, batch_size: int = 64,
                 seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Train two identical MLPs on the same batches, one with the scratch optimizer ``name`` and
    one with its ``torch.optim`` class. Returns both weight trajectories, shape (steps, n_weights):
    row k holds all weights after step k + 1.

    The default float64 keeps rounding out of the comparison: in float32 two correct implementations
    that round differently drift apart a little more with every step of training."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}.")
    scratch_cls, torch_cls, kwargs = OPTIMIZERS[name]
    mine, theirs = small_mlp(seed).to(dtype), small_mlp(seed).to(dtype)
    X = X.to(dtype)
    opt_mine, opt_theirs = scratch_cls(mine.parameters(), **kwargs), torch_cls(theirs.parameters(), **kwargs)
    order = torch.randperm(len(y))
    paths: tuple[list, list] = ([], [])
    for step in range(steps):
        idx = order[(step * batch_size) % len(y):][:batch_size]
        for model, opt, path in ((mine, opt_mine, paths[0]), (theirs, opt_theirs, paths[1])):
            opt.zero_grad()
            F.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
            path.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return torch.stack(paths[0]), torch.stack(paths[1])


def adam_step_sizes(steps: int, beta1: float = 0.9, beta2: float = 0.999, *, correct_m: bool = True,
                    correct_v: bool = True, grad: float = 1.0) -> list[float]:
    """|Δp| / lr of Adam's first ``steps`` steps for a constant gradient, with or without each bias correction."""
    sizes, m, v = [], 0.0, 0.0
    for t in range(1, steps + 1):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1**t) if correct_m else m
        v_hat = v / (1 - beta2**t) if correct_v else v
        sizes.append(abs(m_hat) / (math.sqrt(v_hat) + 1e-8))
    return sizes


# --------------------------------------------------------------------------- schedules

SCHEDULES = ("constant", "step", "cosine", "warm-up + cosine", "one-cycle")


def _check_schedule(kind: str, total: int, warmup: int = 0) -> None:
    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule {kind!r}; choose one of: {', '.join(SCHEDULES)}.")
    if not isinstance(total, int) or total < 2:
        raise ValueError(f"total steps must be an int of at least 2; got {total!r}.")
    if kind == "warm-up + cosine" and not 0 < warmup < total:
        raise ValueError(f"warm-up steps must lie between 1 and total - 1 = {total - 1}; got {warmup!r}.")


def scratch_schedule(kind: str, base_lr: float, total: int, warmup: int = 0, step_size: int | None = None,
                     gamma: float = 0.1, start_factor: float = 0.1, pct_start: float = 0.3,
                     div_factor: float = 25.0, final_div_factor: float = 1e4) -> list[float]:
    """The learning rate used at each of ``total`` steps, from the formulas (``base_lr`` is the peak)."""
    _check_schedule(kind, total, warmup)
    step_size = step_size or max(1, total // 3)

    def cosine(t: float, span: float, high: float, low: float) -> float:
        return low + (high - low) * (1 + math.cos(math.pi * t / span)) / 2

    lrs = []
    for t in range(total):
        if kind == "constant":
            lr = base_lr
        elif kind == "step":
            lr = base_lr * gamma ** (t // step_size)
        elif kind == "cosine":
            lr = cosine(t, total, base_lr, 0.0)
        elif kind == "warm-up + cosine":
            lr = (base_lr * (start_factor + (1 - start_factor) * t / warmup) if t < warmup
                  else cosine(t - warmup, total - warmup, base_lr, 0.0))
        else:  # one-cycle: cosine up from base/div for pct_start of the steps, then cosine down to start/final_div
            start, low = base_lr / div_factor, base_lr / div_factor / final_div_factor
            up_end = pct_start * total - 1
            lr = (cosine(up_end - t, up_end, base_lr, start) if t <= up_end
                  else cosine(t - up_end, total - 1 - up_end, base_lr, low))
        lrs.append(lr)
    return lrs


def make_scheduler(kind: str, optimizer: torch.optim.Optimizer, total: int, warmup: int = 0,
                   step_size: int | None = None, gamma: float = 0.1, start_factor: float = 0.1):
    """PyTorch's scheduler for ``kind`` (stepped once per batch), or None for "constant"."""
    _check_schedule(kind, total, warmup)
    sched = torch.optim.lr_scheduler
    base_lr = optimizer.param_groups[0]["lr"]
    if kind == "constant":
        return None
    if kind == "step":
        return sched.StepLR(optimizer, step_size=step_size or max(1, total // 3), gamma=gamma)
    if kind == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total)
    if kind == "warm-up + cosine":
        warm = sched.LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup)
        cos = sched.CosineAnnealingLR(optimizer, T_max=total - warmup)
        return sched.SequentialLR(optimizer, [warm, cos], milestones=[warmup])
    # OneCycleLR cycles the momentum (0.95 -> 0.85 and back) by default. On plain SGD (momentum 0) that would
    # silently turn it into momentum SGD, so the cycle is used only when the optimizer has a momentum to cycle.
    has_momentum = "betas" in optimizer.defaults or optimizer.defaults.get("momentum", 0) > 0
    return sched.OneCycleLR(optimizer, max_lr=base_lr, total_steps=total, cycle_momentum=has_momentum)


def torch_schedule(kind: str, base_lr: float, total: int, **kwargs) -> list[float]:
    """The learning rate at each step as PyTorch's scheduler sets it (on a dummy parameter)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(kind, optimizer, total, **kwargs)
    lrs = []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return lrs


# --------------------------------------------------------------------------- clipping


def clip_grad_norm(params: Iterable[torch.Tensor], max_norm: float) -> float:
    """Scale all gradients together so that their joint L2 norm is at most ``max_norm``;
    return the norm before clipping (what ``torch.nn.utils.clip_grad_norm_`` does)."""
    grads = [p.grad for p in params if p.grad is not None]
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive; got {max_norm!r}.")
    total = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)).item() if grads else 0.0
    scale = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total


# --------------------------------------------------------------------------- training on the digits


@dataclass
class Run:
    """What one training run recorded."""

    lrs: list[float] = field(default_factory=list)           # per step
    train_loss: list[float] = field(default_factory=list)    # per step (the batch loss)
    grad_norm: list[float] = field(default_factory=list)     # per step, before clipping
    val_loss: list[float] = field(default_factory=list)      # per epoch
    val_acc: float = float("nan")
    diverged: bool = False


def torch_optimizer(name: str, params, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer for a short name: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw."""
    optim = torch.optim
    makers: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "sgd": lambda: optim.SGD(params, lr=lr, weight_decay=weight_decay),
        "momentum": lambda: optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay),
        "nesterov": lambda: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay),
        "adagrad": lambda: optim.Adagrad(params, lr=lr, weight_decay=weight_decay),
        "rmsprop": lambda: optim.RMSprop(params, lr=lr, weight_decay=weight_decay),
        "adam": lambda: optim.Adam(params, lr=lr, weight_decay=weight_decay),
        "adamw": lambda: optim.AdamW(params, lr=lr, weight_decay=weight_decay),
    }
    if name not in makers:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(makers)}.")
    return makers[name]()


ADAMW_DECAY = 1e-2  # torch.optim.AdamW's default λ, used by train_digits for "adamw" unless told otherwise


def _fresh_batch_loss(model: nn.Module, opt: torch.optim.Optimizer, split, idx: torch.Tensor) -> torch.Tensor:
    """Zero the gradients, then the cross-entropy of the training rows ``idx``."""
    opt.zero_grad()
    return F.cross_entropy(model(split.X_train[idx]), split.y_train[idx])


def train_digits(split, optimizer: str = "adamw", lr: float = 3e-3, schedule: str = "constant", epochs: int = 8,
                 batch_size: int = 64, seed: int = 0, warmup_fraction: float = 0.1, clip: float | None = None,
                 weight_decay: float | None = None, hidden: int = 64) -> Run:
    """Train ``small_mlp(seed)`` on ``split`` (train part) for ``epochs`` epochs; evaluate on its validation part.

    ``schedule`` is one of ``SCHEDULES`` (stepped per batch) or ``"plateau"`` (``ReduceLROnPlateau``
    stepped once per epoch with the validation loss). A run whose loss becomes NaN/inf stops early
    with ``diverged=True``. ``weight_decay=None`` means the optimizer's own default: ``ADAMW_DECAY``
    (PyTorch's 1e-2) for "adamw", none for the others.
    """
    if len(split.y_val) == 0:
        raise ValueError("train_digits needs a validation part: use data.digits_split(val_fraction=0.15).")
    if weight_decay is None:
        weight_decay = ADAMW_DECAY if optimizer == "adamw" else 0.0
    model = small_mlp(seed, hidden=hidden)
    opt = torch_optimizer(optimizer, model.parameters(), lr, weight_decay)
    n = len(split.y_train)
    per_epoch = math.ceil(n / batch_size)
    total = epochs * per_epoch
    plateau = None
    if schedule == "plateau":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=1)
        scheduler = None
    else:
        scheduler = make_scheduler(schedule, opt, total, warmup=max(1, round(warmup_fraction * total)))
    run = Run()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = _fresh_batch_loss(model, opt, split, idx)
            if not torch.isfinite(loss):
                run.diverged = True
                return run
            loss.backward()
            norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            run.lrs.append(opt.param_groups[0]["lr"])
            run.train_loss.append(loss.item())
            run.grad_norm.append(norm)
            opt.step()
            if scheduler is not None:
                scheduler.step()
        model.eval()
        with torch.no_grad():
            logits = model(split.X_val)
            val_loss = F.cross_entropy(logits, split.y_val).item()
        run.val_loss.append(val_loss)
        if not math.isfinite(val_loss):
            run.diverged = True
            return run
        if plateau is not None:
            plateau.step(val_loss)
    run.val_acc = (logits.argmax(1) == split.y_val).float().mean().item()
    return run


def lr_range_test(split, optimizer: str = "momentum", start: float = 1e-4, end: float = 10.0, steps: int = 100,
                  batch_size: int = 64, seed: int = 0, smoothing: float = 0.9,
                  blow_up: float = 4.0) -> tuple[list[float], list[float], float]:
    """Train a fresh MLP while the lr grows geometrically from ``start`` to ``end``, one batch per step.

    Returns ``(lrs, smoothed losses, suggested lr)``. The loss is an exponential moving average
    (with bias correction); the test stops once it exceeds ``blow_up`` times its best value. The
    suggestion is ``steepest_lr``: the lr where the smoothed loss falls fastest, before its minimum (at
    the minimum the rate is already at the edge of divergence).
    """
    if not 0 < start < end:
        raise ValueError(f"need 0 < start < end; got start={start!r}, end={end!r}.")
    model = small_mlp(seed)
    opt = torch_optimizer(optimizer, model.parameters(), start)
    factor = (end / start) ** (1 / (steps - 1))
    n = len(split.y_train)
    order = torch.randperm(n)
    lrs, losses, avg, best = [], [], 0.0, math.inf
    for step in range(steps):
        lr = start * factor**step
        for group in opt.param_groups:
            group["lr"] = lr
        begin = (step * batch_size) % n
        if begin + batch_size > n:
            order = torch.randperm(n)
        idx = order[begin:begin + batch_size]
        loss = _fresh_batch_loss(model, opt, split, idx)
        if not torch.isfinite(loss):
            break
        avg = smoothing * avg + (1 - smoothing) * loss.item()
        smooth = avg / (1 - smoothing ** (step + 1))
        lrs.append(lr)
        losses.append(smooth)
        best = min(best, smooth)
        if smooth > blow_up * best:
            break
        loss.backward()
        opt.step()
    return lrs, losses, steepest_lr(lrs, losses)


def steepest_lr(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The lr where the smoothed loss falls fastest per decade of lr, looking only up to its minimum."""
    if len(lrs) != len(losses) or len(lrs) < 3:
        raise ValueError(f"need at least 3 (lr, loss) pairs of equal length; got {len(lrs)} lrs and {len(losses)} losses.")
    lowest = min(range(len(losses)), key=losses.__getitem__)
    x = [math.log10(lr) for lr in lrs]
    slopes = {k: (losses[k + 1] - losses[k - 1]) / (x[k + 1] - x[k - 1]) for k in range(1, min(lowest + 1, len(lrs) - 1))}
    if not slopes:
        return lrs[lowest]
    return lrs[min(slopes, key=slopes.__getitem__)]


def decay_experiment(X: torch.Tensor, y: torch.Tensor, steps: int = 300, lr: float = 0.01, weight_decay: float = 0.1,
                     seed: int = 0) -> dict[str, torch.Tensor]:
    """Softmax regression (64 pixels -> 10 classes), full batch, with Adam: no decay, L2 (Adam's
    ``weight_decay``) and decoupled decay (AdamW), all with the same λ and the same start.

    Returns per pixel: ``grad_rms`` (the root-mean-square data gradient of its weights in the run
    without decay) and, for "Adam + L2" and "AdamW", ``shrink`` = norm of its weights with decay /
    norm without decay.
    """
    finals, grad_sq = {}, torch.zeros(X.shape[1])
    for name, cls, wd in (("none", torch.optim.Adam, 0.0), ("Adam + L2", torch.optim.Adam, weight_decay),
                          ("AdamW", torch.optim.AdamW, weight_decay)):
        torch.manual_seed(seed)
        model = nn.Linear(X.shape[1], 10)
        opt = cls(model.parameters(), lr=lr, weight_decay=wd)
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model(X), y).backward()
            if name == "none":
                grad_sq += (model.weight.grad**2).mean(dim=0)
            opt.step()
        finals[name] = model.weight.detach().norm(dim=0)
    out = {"grad_rms": (grad_sq / steps).sqrt()}
    for name in ("Adam + L2", "AdamW"):
        out[name] = finals[name] / finals["none"]
    return out


def quadratic_paths(recipes: dict[str, tuple[type, dict]], start: Sequence[float] = (-4.5, 1.5),
                    steps: int = 40) -> dict[str, torch.Tensor]:
    """Run from-scratch optimizers on the ill-conditioned quadratic 0.1x² + 2y² (notebook 06's "ravine").

    ``recipes`` maps a label to (optimizer class, keyword arguments). Returns label -> positions,
    shape (steps + 1, 2), starting at ``start``."""
    from course_utils.topics.training_loops.landscapes import get_surface

    if len(start) != 2:
        raise ValueError(f"start must be a point (x, y); got {start!r}.")
    surface = get_surface("ravine")
    paths = {}
    for label, (cls, kwargs) in recipes.items():
        p = torch.tensor([float(v) for v in start], dtype=torch.float64, requires_grad=True)
        opt = cls([p], **kwargs)
        points = [p.detach().clone()]
        for _ in range(steps):
            opt.zero_grad()
            surface(p).backward()
            opt.step()
            points.append(p.detach().clone())
        paths[label] = torch.stack(points)
    return paths


def quadratic_axes(ax, paths: dict[str, torch.Tensor], title: str = "") -> None:
    """Contours of 0.1x² + 2y² with each path drawn on top."""
    xs, ys = torch.meshgrid(torch.linspace(-5, 5, 121), torch.linspace(-2, 2, 61), indexing="xy")
    ax.contour(xs, ys, 0.1 * xs**2 + 2 * ys**2, levels=12, colors="0.8", linewidths=0.7)
    for k, (label, path) in enumerate(paths.items()):
        ax.plot(path[:, 0], path[:, 1], "o-", ms=2, lw=1, color=f"C{k}", label=label)
    ax.plot([0], [0], "k*", ms=8)
    ax.set_xlim(-5, 5)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


# --------------------------------------------------------------------------- figures and the widget


def schedule_axes(ax, schedules: dict[str, Sequence[float]], title: str = "learning rate per step") -> None:
    for name, lrs in schedules.items():
        ax.plot(range(len(lrs)), lrs, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def designer_figure(run: Run, planned: Sequence[float], label: str) -> Figure:
    """Left: the schedule (planned) and the lr actually used; right: the batch loss and the validation loss."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(planned, color="0.7", lw=3, label="formula")
    left.plot(run.lrs, color="C0", lw=1, label="used in training")
    left.set_xlabel("step")
    left.set_ylabel("learning rate")
    left.set_title(label, fontsize=10)
    left.legend(fontsize=8)
    right.plot(run.train_loss, color="C1", lw=0.8, alpha=0.6, label="batch loss (train)")
    if run.val_loss:
        per_epoch = max(1, len(run.train_loss) // max(1, len(run.val_loss)))
        right.plot([per_epoch * (k + 1) - 1 for k in range(len(run.val_loss))], run.val_loss, "o-", color="C2",
                   ms=3, label="validation loss")
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("cross-entropy")
    right.set_title("diverged" if run.diverged else f"validation accuracy {run.val_acc:.3f}", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


class ScheduleDesigner(Explorer):
    """Optimizer, schedule, peak lr and warm-up controls; each change trains the MLP on the digits afresh.

    Tests set ``.schedule.value`` (or ``.lr``, ``.optimizer``, ``.warmup``) and read ``.redraws``,
    ``.run`` and ``.status.value``.
    """

    description = "an optimizer menu, a schedule menu, a log slider for the peak lr and a warm-up slider"

    def __init__(self, split, epochs: int = 6, seed: int = 0, optimizer: str = "adamw", schedule: str = "one-cycle",
                 lr: float = 1e-2) -> None:
        import ipywidgets as w

        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}.")
        if len(split.y_val) == 0:
            raise ValueError("ScheduleDesigner needs a split with a validation part (val_fraction > 0).")
        self.split, self.epochs, self.seed = split, epochs, seed
        self.optimizer = w.Dropdown(options=["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"],
                                    value=optimizer, description="optimizer")
        self.schedule = w.Dropdown(options=list(SCHEDULES), value=schedule, description="schedule")
        self.lr = w.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.25, description="peak lr",
                                   readout_format=".2g")
        self.warmup = w.FloatSlider(value=0.1, min=0.02, max=0.5, step=0.02, description="warm-up",
                                    readout_format=".2f")
        self.start((self.optimizer, self.schedule), (self.lr, self.warmup))

    def figure(self) -> Figure:
        self.run = train_digits(self.split, self.optimizer.value, self.lr.value, self.schedule.value,
                                epochs=self.epochs, seed=self.seed, warmup_fraction=self.warmup.value)
        total = self.epochs * math.ceil(len(self.split.y_train) / 64)
        warm = max(1, round(self.warmup.value * total))
        planned = scratch_schedule(self.schedule.value, self.lr.value, total, warmup=warm)
        label = f"{self.optimizer.value}, {self.schedule.value}, peak lr {self.lr.value:.2g}"
        return designer_figure(self.run, planned, label)

    def on_redraw(self) -> None:
        if self.run.diverged:
            self.status.value = "<b>diverged</b>: the loss became inf/NaN. Lower the peak lr or add warm-up."
            return
        self.status.value = (f"validation accuracy <b>{self.run.val_acc:.3f}</b>, final validation loss "
                             f"{self.run.val_loss[-1]:.3f}, {len(self.run.lrs)} steps")
