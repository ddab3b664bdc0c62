"""Helpers for notebook 21 (making training fast on one machine).

Pure helpers first: the digits enlarged to 32x32 and a small CNN for them, the FLOP count of a convolution, a median
timer, the profiler's rows, ``torch.compile`` with a fallback that explains itself, a thread-count
context manager, a deliberately slow dataset for DataLoader workers, and a few figures. Then the
*Try it* explorer, which draws step times measured once (it never re-measures on a slider move).

Timings change from run to run and from machine to machine, so everything here returns them for
printing as ``... ms (timed)`` and for ratios measured in one run; nothing asserts an absolute time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils import plots
from course_utils.data.digits import Split, digits_split
from course_utils.runtime import seeded, torch_generator
from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- the model and its FLOPs


def small_cnn(seed: int = 0, channels: tuple[int, int] = (16, 32), in_channels: int = 1, n_classes: int = 10,
              size: int = 32) -> nn.Sequential:
    """Two conv-ReLU-maxpool blocks and a linear classifier for (B, in_channels, size, size) images."""
    if not (isinstance(size, int) and size >= 4 and size % 4 == 0):
        raise ValueError(f"size must be a multiple of 4 pixels (two 2x2 poolings); got {size!r}.")
    if len(channels) != 2 or any(not isinstance(c, int) or c < 1 for c in channels):
        raise ValueError(f"channels must be two positive ints, e.g. (16, 32); got {channels!r}.")
    c1, c2 = channels
    with seeded(seed):
        return nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * (size // 4) ** 2, n_classes),
        )


def digits_32(size: int = 32, seed: int = 0) -> Split:
    """The 8x8 digits enlarged to ``size`` x ``size`` pixels (bilinear), as (N, 1, size, size) images.

    Same stratified 80/20 split as ``data.digits_split(seed=seed)``; the pictures are blurrier, the
    work per image is that of a 32x32 input (CIFAR's size; MNIST's is 28x28).
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int ≥ 8 pixels; got {size!r}.")
    split = digits_split(test_fraction=0.2, seed=seed, as_images=True)

    def up(X: torch.Tensor) -> torch.Tensor:
        return F.interpolate(X, size=(size, size), mode="bilinear", align_corners=False)

    return Split(up(split.X_train), split.y_train, up(split.X_val), split.y_val, up(split.X_test), split.y_test)


def conv2d_flops(batch: int, in_channels: int, out_channels: int, kernel_size: int, out_h: int, out_w: int) -> int:
    """Floating-point operations of a Conv2d forward pass (bias left out): 2·B·C_out·H_out·W_out·C_in·k².

    Each output value is a dot product of length C_in·k², one multiply and one add per term.
    """
    sizes = {"batch": batch, "in_channels": in_channels, "out_channels": out_channels,
             "kernel_size": kernel_size, "out_h": out_h, "out_w": out_w}
    bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"every size must be a positive int; got {bad}.")
    return 2 * batch * out_channels * out_h * out_w * in_channels * kernel_size**2


def counted_flops(fn: Callable[[], Any]) -> dict[str, int]:
    """FLOPs per operator that ``torch.utils.flop_counter.FlopCounterMode`` counts while ``fn()`` runs."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}


def layer_flops(model: nn.Sequential, x: torch.Tensor) -> list[tuple[str, int]]:
    """(layer name, FLOPs) of each conv and linear layer of a Sequential model, counted from the formula."""
    rows = []
    with torch.no_grad():
        for index, layer in enumerate(model):
            out = layer(x)
            if isinstance(layer, nn.Conv2d):
                flops = conv2d_flops(x.shape[0], layer.in_channels, layer.out_channels, layer.kernel_size[0],
                                     out.shape[2], out.shape[3])
                rows.append((f"{index}: Conv2d({layer.in_channels}, {layer.out_channels})", flops))
            elif isinstance(layer, nn.Linear):
                rows.append((f"{index}: Linear({layer.in_features}, {layer.out_features})",
                             2 * x.shape[0] * layer.in_features * layer.out_features))
            x = out
    return rows


# --------------------------------------------------------------------------- timing


def median_time(fn: Callable[[], Any], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls.

    The first calls allocate memory and pick kernels; the median ignores the odd slow call that
    another program causes.
    """
    bad = [f"{k} must be an int ≥ {low}; got {v!r}." for k, v, low in (("repeats", repeats, 1), ("warmup", warmup, 0))
           if not isinstance(v, int) or v < low]
    if bad:
        raise ValueError(bad[0])
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def format_timed(seconds: float) -> str:
    """A duration as ``12.345 ms (timed)``; the course's output checker knows such numbers vary."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s (timed)"
    return f"{seconds * 1e3:.3f} ms (timed)"


def format_ratio(ratio: float) -> str:
    """A measured ratio as ``1.45× (timed)`` (``never (timed)`` for an infinite one); the output checker knows it varies."""
    return "never (timed)" if ratio == float("inf") else f"{ratio:.2f}× (timed)" if ratio < 100 else f"{ratio:.0f}× (timed)"


def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of the tensors that autograd saves for the backward pass while ``fn()`` runs (0 when it records nothing).

    Counted with ``torch.autograd.graph.saved_tensors_hooks``: autograd calls the pack hook once per saved tensor.
    """
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> Callable[[], float]:
    """A closure running one training step (zero_grad, forward, loss, backward, step); returns the loss."""

    def step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def train_epochs(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int = 2, batch_size: int = 64,
                 lr: float = 0.05, seed: int = 0) -> list[float]:
    """Plain SGD with momentum over shuffled mini-batches; returns the loss of each step."""
    if not isinstance(epochs, int) or epochs < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive ints; got {epochs!r} and {batch_size!r}.")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch_generator(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            losses.append(train_step(model, optimizer, X[idx], y[idx])())
    return losses


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)``, then put the previous count back (even on an error)."""
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"the thread count must be a positive int; got {n!r}.")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(n)
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- the profiler


@dataclass(frozen=True)
class ProfileRow:
    """One row of ``prof.key_averages()``: times in milliseconds, summed over all calls."""

    name: str
    self_ms: float
    total_ms: float
    calls: int


def profile_rows(prof: Any) -> list[ProfileRow]:
    """Every row of a finished ``torch.profiler.profile``, sorted by self CPU time (largest first)."""
    rows = [ProfileRow(e.key, e.self_cpu_time_total / 1e3, e.cpu_time_total / 1e3, int(e.count))
            for e in prof.key_averages()]
    return sorted(rows, key=lambda r: -r.self_ms)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send the process's file descriptor 2 to /dev/null for a block.

    The profiler's C++ library (Kineto) writes time-stamped start/stop lines and a "no GPU" line
    straight to file descriptor 2, which a notebook would show; Python exceptions still propagate.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def profile_steps(step: Callable[[], Any], steps: int = 3, label: str = "train_step") -> Any:
    """Profile ``steps`` calls of ``step`` on the CPU, each inside ``record_function(label)``."""
    from torch.profiler import ProfilerActivity, profile, record_function

    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}.")
    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            with record_function(label):
                step()
    return prof


# Fixed groups of profiler rows for a CNN training step, matched by a piece of the operator's name (first match wins).
OP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conv backward", ("convolution_backward", "ConvolutionBackward")),
    ("conv forward", ("conv2d", "aten::convolution", "aten::_convolution", "mkldnn_convolution", "thnn_conv")),
    ("pooling fwd+bwd", ("pool", "Pool")),
    ("ReLU fwd+bwd", ("relu", "threshold", "Relu", "clamp_min")),
    ("linear fwd+bwd", ("linear", "addmm", "aten::mm", "Addmm", "TBackward")),
    ("loss fwd+bwd", ("cross_entropy", "log_softmax", "nll_loss", "NllLoss", "LogSoftmax")),
    ("optimizer + zero_grad", ("Optimizer", "SGD", "_foreach", "zero_grad", "aten::add_", "aten::mul_", "aten::zero_")),
)


def op_groups(rows: Sequence[ProfileRow], label: str = "train_step") -> dict[str, float]:
    """Self CPU time (ms) per group of ``OP_GROUPS``, then the self time of the ``label`` range (the Python between
    the operators), then "other" for the rest."""
    groups = {name: 0.0 for name, _ in OP_GROUPS} | {f"Python ({label} self)": 0.0, "other": 0.0}
    for r in rows:
        group = f"Python ({label} self)" if r.name == label else next(
            (g for g, keys in OP_GROUPS if any(k in r.name for k in keys)), "other")
        groups[group] += r.self_ms
    return groups


def describe_groups(groups: dict[str, float]) -> str:
    """One line per group: its self time and its share of the sum, both marked as timed."""
    total = sum(groups.values())
    return "\n".join(f"{name:<22} self {format_timed(ms / 1e3)}, share {format_ratio(ms / total)}"
                     for name, ms in groups.items())


def describe_rows(rows: Sequence[ProfileRow], names: Sequence[str]) -> str:
    """The rows named in ``names`` (in that order; missing ones are skipped) as lines of text."""
    by_name = {r.name: r for r in rows}
    lines = [f"{'operator':<28} {'calls':>5}  self CPU | total CPU"]
    for name in names:
        if name in by_name:
            r = by_name[name]  # the timed strings vary in length, so they are not padded into columns
            lines.append(f"{name:<28} {r.calls:>5}  {format_timed(r.self_ms / 1e3)} | {format_timed(r.total_ms / 1e3)}")
    return "\n".join(lines)


def profile_figure(rows: Sequence[ProfileRow], top: int = 8, title: str = "") -> Figure:
    """Horizontal bars: self and total CPU time of the ``top`` rows with the most self time."""
    rows = [r for r in rows][:top][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(rows) + 1.2))
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], [r.total_ms for r in rows], height=0.4, color="0.75", label="total (with children)")
    ax.barh([y - 0.2 for y in ys], [r.self_ms for r in rows], height=0.4, color="C0", label="self")
    ax.set_yticks(list(ys), [f"{r.name} ×{r.calls}" for r in rows], fontsize=8)
    ax.set_xlabel("CPU time, ms (timed on this run's machine)")
    ax.set_title(title or f"top {len(rows)} rows by self CPU time", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the axes: it covers no bar
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- torch.compile with a fallback

COMPILE_ADVICE = (
    "torch.compile needs a working C++ compiler for the CPU (Linux: install g++, e.g. `apt install g++`; "
    "macOS: `xcode-select --install`; Windows: the MSVC build tools) and a platform that PyTorch's inductor "
    "supports. The notebook carries on with the eager model, so every cell still runs; only the compiled "
    "timings are missing."
)


@dataclass
class CompileOutcome:
    """What ``compile_or_eager`` produced: the function to call and what happened."""

    fn: Callable[..., Any]
    compiled: bool
    seconds: float
    message: str


def compile_or_eager(model: Callable[..., Any], example: torch.Tensor, *, compiler: Callable[..., Any] | None = None,
                     **options: Any) -> CompileOutcome:
    """``torch.compile(model, **options)``, run once on ``example`` (that first call is when it compiles).

    If compiling fails (no C++ compiler, an unsupported platform...), return the eager model and a
    message that says what happened and what to do, instead of a long traceback. ``compiler`` stands in for
    ``torch.compile`` (to simulate a failure, say).
    """
    if not callable(model):
        raise ValueError(f"model must be callable (an nn.Module or a function); got {type(model).__name__}.")
    if not isinstance(example, torch.Tensor):
        raise ValueError(f"example must be an input tensor for one call of the model; got {type(example).__name__}.")
    compile_fn = torch.compile if compiler is None else compiler
    # Importing the C++ tool chain logs "No CUDA runtime is found" on CPU-only machines: true, and not news here.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    start = time.perf_counter()
    try:
        compiled = compile_fn(model, **options)
        compiled(example)  # torch.compile is lazy: the first call traces and compiles
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        return CompileOutcome(model, False, time.perf_counter() - start,
                              f"torch.compile did not work here ({reason[:200]}). {COMPILE_ADVICE}")
    seconds = time.perf_counter() - start
    return CompileOutcome(compiled, True, seconds, f"compiled with torch.compile in {format_timed(seconds)}")


def graph_breaks(fn: Callable[..., Any], *args: Any) -> tuple[int, int, list[str]]:
    """(graphs, graph breaks, first line of each break reason) that TorchDynamo finds when it traces ``fn(*args)``.

    Runs ``torch._dynamo.explain`` (tracing only, no inductor compile); its warning per break is kept quiet.
    """
    dynamo_log = logging.getLogger("torch._dynamo")
    level = dynamo_log.level
    dynamo_log.setLevel(logging.ERROR)
    try:
        found = torch._dynamo.explain(fn)(*args)
    finally:
        dynamo_log.setLevel(level)
    return found.graph_count, found.graph_break_count, [str(r.reason).strip().splitlines()[0] for r in found.break_reasons]


def compiled_graphs() -> int:
    """How many graphs TorchDynamo has compiled in this process so far (a new one for every recompile)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def break_even_calls(compile_s: float, eager_s: float, compiled_s: float) -> float:
    """Calls after which compiling has paid for itself: compile time / time saved per call (inf if none saved)."""
    if min(compile_s, eager_s, compiled_s) < 0:
        raise ValueError("times must be ≥ 0 seconds.")
    saved = eager_s - compiled_s
    return float("inf") if saved <= 0 else compile_s / saved


# --------------------------------------------------------------------------- data loading


class SlowDataset(Dataset):
    """Tensors whose every item takes ``delay_s`` seconds to "load" (as reading and decoding a
    file from disk would). The delay is a sleep, so it costs waiting time, not CPU."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, delay_s: float = 0.002) -> None:
        if len(X) != len(y):
            raise ValueError(f"X and y need the same length; got {len(X)} and {len(y)}.")
        if not 0 <= delay_s <= 1:
            raise ValueError(f"delay_s must be between 0 and 1 second; got {delay_s!r}.")
        self.X, self.y, self.delay_s = X, y, delay_s

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.X[index], self.y[index]


def one_pass(loader: DataLoader, train: Callable[[torch.Tensor, torch.Tensor], Any] | None = None
             ) -> tuple[float, torch.Tensor]:
    """Seconds for one pass over ``loader`` (worker start-up included) and the sum of every batch's inputs
    (to check that all loaders deliver the same data). ``train(xb, yb)``, if given, runs on each batch."""
    start = time.perf_counter()
    total = torch.zeros((), dtype=torch.float64)
    for xb, yb in loader:
        total += xb.double().sum()
        if train is not None:
            train(xb, yb)
    return time.perf_counter() - start, total


def batch_trainer(model: nn.Module, lr: float = 0.01) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """``train(xb, yb)``: one SGD step of ``model`` on the batch given (for a loader's loop); returns the loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return lambda xb, yb: train_step(model, optimizer, xb, yb)()


# --------------------------------------------------------------------------- figures


def ratio_figure(times: dict[str, float], baseline: str, title: str, note: str = "") -> Figure:
    """Bars of each time divided by the baseline's (below 1 = faster), measured in the same run."""
    if baseline not in times:
        raise ValueError(f"the baseline {baseline!r} is not one of the timings: {', '.join(times)}.")
    names = list(times)
    ratios = [times[n] / times[baseline] for n in names]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(names) + 1.2))
    colours = ["0.6" if n == baseline else ("C2" if r < 1 else "C3") for n, r in zip(names, ratios, strict=True)]
    ax.barh(names[::-1], ratios[::-1], color=colours[::-1])
    ax.axvline(1.0, color="k", lw=0.8)
    for y, r in enumerate(ratios[::-1]):
        ax.text(r, y, f" {r:.2f}×", va="center", fontsize=8)
    ax.set_xlabel(f"time ÷ time of {baseline} (timed in this run; < 1 is faster)")
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    if min(ratios) > 0 and max(ratios) / min(ratios) > 8:  # very different ratios: a log axis shows all of them
        ax.set_xscale("log")
        ax.set_xlim(min(ratios) / 1.5, max(ratios) * 2)
    else:
        ax.set_xlim(0, max(ratios) * 1.25)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Try it: step time vs batch size


def measure_step_times(batch_sizes: Sequence[int], threads: Sequence[int], X: torch.Tensor, y: torch.Tensor,
                       repeats: int = 4, seed: int = 0) -> dict[tuple[int, int], float]:
    """Median seconds of one training step of ``small_cnn`` for each (batch size, thread count).

    Measured once, with at least ``repeats`` timed steps (more for short steps, about 50 ms of them); the thread count is put back afterwards.
    """
    if not batch_sizes or not threads:
        raise ValueError("give at least one batch size and one thread count.")
    if max(batch_sizes) > len(y):
        raise ValueError(f"the largest batch ({max(batch_sizes)}) is bigger than the data ({len(y)} images).")
    times = {}
    for n in threads:
        with num_threads(n):
            for b in batch_sizes:
                model = small_cnn(seed, in_channels=X.shape[1], size=X.shape[-1])
                optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                step = train_step(model, optimizer, X[:b], y[:b])
                # short steps are noisier: time about 50 ms of them (at least `repeats`, at most 16 times as many)
                first = median_time(step, repeats=1, warmup=1)
                times[(b, n)] = median_time(step, repeats=min(16 * repeats, max(repeats, int(0.05 / first))), warmup=0)
    return times


def per_image_sentence(times: dict[tuple[int, int], float], threads: int = 1) -> str:
    """A sentence on how the measured time per image changes with the batch size, computed from ``times``.

    It depends on the run's timings, so the notebook shows it only in the explorer's live status line.
    """
    sizes = sorted(b for b, t in times if t == threads)
    if len(sizes) < 2:
        raise ValueError(f"need at least two batch sizes measured with {threads} thread(s); got {sizes}.")
    per_image = [times[(b, threads)] / b for b in sizes]
    best = sizes[per_image.index(min(per_image))]
    steps = [later < earlier for earlier, later in zip(per_image, per_image[1:], strict=False)]
    if max(per_image) < 1.15 * min(per_image):
        shape = "stays within 15 % across all batch sizes: the fixed cost of a step is small next to the work per image"
    elif best == sizes[0]:
        shape = f"is lowest at the smallest batch ({best}): larger batches did not use the CPU better here"
    elif best == sizes[-1]:
        shape = "falls at every larger batch" if all(steps) else "falls overall, with ups and downs"
    else:
        shape = f"falls from batch {sizes[0]} to batch {best}, then rises or levels off"
    lowest = "" if f"batch {best}" in shape or f"({best})" in shape else f"; it is lowest at batch {best}"
    return f"With {threads} thread(s), the time per image {shape}{lowest} in this run."


def per_image_listing(times: dict[tuple[int, int], float], threads: int = 1) -> str:
    """The measured time per image for each batch size, as ``(timed)`` durations."""
    sizes = sorted(b for b, t in times if t == threads)
    listed = ", ".join(f"{b}: {format_timed(times[(b, threads)] / b)}" for b in sizes)
    return f"{threads} thread(s), per image, by batch size: {listed}"


def per_image_trend(times: dict[tuple[int, int], float], threads: int = 1) -> str:
    """The sentence of ``per_image_sentence`` and the listing of ``per_image_listing``."""
    return f"{per_image_sentence(times, threads)}\n  {per_image_listing(times, threads)}"


def step_time_figure(times: dict[tuple[int, int], float], per_image: bool = True, log_x: bool = True,
                     chosen: tuple[int, int] | None = None) -> Figure:
    """Measured step time (or time per image) against batch size, one line per thread count; ``chosen`` is ringed."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for n in sorted({t for _, t in times}):
        sizes = sorted(b for b, t in times if t == n)
        values = [times[(b, n)] * 1e3 / (b if per_image else 1) for b in sizes]
        ax.plot(sizes, values, "o-", label=f"{n} thread{'s' if n > 1 else ''}")
    if chosen is not None and chosen in times:
        b, _ = chosen
        ax.plot([b], [times[chosen] * 1e3 / (b if per_image else 1)], "o", ms=14, mfc="none", mec="k", label="chosen")
    ax.legend(fontsize=8)
    if log_x:  # both axes: the times span orders of magnitude on a busy machine
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set(xlabel="batch size", ylabel="ms per image" if per_image else "ms per training step")
    return plots.finish(fig, "one training step of the small CNN (timed once, on this run's machine)")


class StepTimeExplorer(Explorer):
    """Pick a batch size and a thread count and read the step time measured for them by ``measure_step_times``.

    Every setting was measured once, before the widget; the controls never re-measure. Tests set
    ``.batch.value``, ``.threads.value``, ``.per_image.value`` or ``.log_x.value`` and read ``.redraws`` and
    ``.status.value``.
    """

    description = "a batch size, a thread count, per image or per step, and logarithmic axes"
    status_in_fallback = False  # the status quotes this run's timings

    def __init__(self, times: dict[tuple[int, int], float]) -> None:
        import ipywidgets as w

        if not times:
            raise ValueError("StepTimeExplorer needs measured times: call measure_step_times(...) first.")
        self.times = dict(times)
        sizes, counts = sorted({b for b, _ in times}), sorted({t for _, t in times})
        self.batch = w.SelectionSlider(options=sizes, value=sizes[len(sizes) // 2], description="batch")
        self.threads = w.ToggleButtons(options=counts, value=counts[0], description="threads")
        self.per_image = w.ToggleButtons(options=[("per image", True), ("per step", False)], value=True,
                                         description="time")
        self.log_x = w.Checkbox(value=True, description="log axes")
        self.start((self.batch, self.threads), (self.per_image, self.log_x))

    def figure(self) -> Figure:
        return step_time_figure(self.times, self.per_image.value, self.log_x.value,
                                chosen=(self.batch.value, self.threads.value))

    def on_redraw(self) -> None:
        b, n = self.batch.value, self.threads.value
        seconds = self.times[(b, n)]
        view = "per image" if self.per_image.value else "per step"
        self.status.value = (f"batch {b}, {n} thread(s): <b>{format_timed(seconds)}</b> per step, "
                             f"{format_timed(seconds / b)} per image (showing time {view}). "
                             f"{per_image_sentence(self.times, n)}")
