"""Helpers of notebook 22 (distributed data parallel).

* ``launch``: start ``ddp_train`` (this package's script) with ``torchrun`` on 2 local processes (gloo,
  127.0.0.1), wait, read back what every rank wrote, and measure the memory of all processes together.
* The ring all-reduce from scratch (``ring_allreduce``) and its cost model (``ring_bytes_per_worker``,
  ``allreduce_seconds``, ``scaling_efficiency``), the figures, and the ``ScalingExplorer`` widget.
* ``common`` holds what the notebook and the workers share (data, models); it is re-exported here.

Only ``common`` and ``ddp_train`` run inside the workers, so nothing here is imported there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from course_utils import plots
from course_utils.topics.distributed.common import (
    BATCH,
    CHECKPOINT_AT,
    CHECKPOINT_EPOCHS,
    DEMO_SIZES,
    MICRO_BATCH,
    MICRO_BATCHES,
    RING_SIZE,
    TIMING_SIZES,
    flat_grads,
    flat_params,
    full_batch_gradient,
    loss_of,
    make_data,
    make_model,
)
from course_utils.widgets import Explorer

__all__ = [
    "BATCH", "CHECKPOINT_AT", "CHECKPOINT_EPOCHS", "DEMO_SIZES", "MICRO_BATCH", "MICRO_BATCHES", "RING_SIZE", "TIMING_SIZES",
    "DistributedLaunchError", "Run", "ScalingExplorer", "allreduce_seconds", "flat_grads", "flat_params",
    "free_port", "full_batch_gradient", "launch", "loss_of", "make_data", "make_model", "ring_allreduce",
    "ring_bytes_per_worker", "scaling_efficiency", "timing_ratios", "torchrun_command", "torchrun_report",
]

SCRIPT = "course_utils.topics.distributed.ddp_train"
HOST = "127.0.0.1"  # loopback only: the processes never leave this machine


class DistributedLaunchError(RuntimeError):
    """torchrun did not start, or a rank failed; the message says what to try."""


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now (the operating system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def torchrun_command(out_dir: str | Path, port: int, nproc: int = 2, seed: int = 0, script_args: Sequence[str] = ()) -> list[str]:
    """The torchrun command line: one node, ``nproc`` processes, rendezvous on 127.0.0.1:``port``."""
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc is the number of processes to start, an int ≥ 1; got {nproc!r}.")
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must lie between 1 and 65535; got {port!r}. Use free_port() to pick one.")
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
            "--master-addr", HOST, "--master-port", str(port),
            "-m", SCRIPT, "--out", str(out_dir), "--seed", str(seed), *script_args]


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """(sum of PSS, sum of RSS) in MB over a process and all its descendants; (0, 0) if it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    pss = rss = 0.0
    for p in procs:
        try:
            info = p.memory_full_info()
        except (psutil.Error, OSError):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return pss / 2**20, rss / 2**20


def run_watched(command: list[str], env: dict, timeout: float) -> tuple[int, str, dict]:
    """Run ``command``; sample the memory of this process and all of its descendants every 0.2 s.

    Returns (exit code, its output, {"peak_pss_mb", "peak_rss_sum_mb", "wall_s"}). PSS (proportional
    set size) counts a page shared by several processes (torch's libraries) once in total; the sum
    of RSS counts it once per process, so it overstates what the processes occupy together.
    """
    peaks = {"peak_pss_mb": 0.0, "peak_rss_sum_mb": 0.0}
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                pss, rss = _tree_memory_mb(os.getpid())
                peaks["peak_pss_mb"] = max(peaks["peak_pss_mb"], pss)
                peaks["peak_rss_sum_mb"] = max(peaks["peak_rss_sum_mb"], rss)
                done.wait(0.2)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            done.set()
            watcher.join()
        peaks["wall_s"] = time.perf_counter() - start
        log.seek(0)
        return code, log.read(), peaks


@dataclass
class Run:
    """What one torchrun launch left behind: each rank's results (``info``) and tensors."""

    info: list[dict]
    tensors: list[dict]
    command: list[str]
    wall_s: float = 0.0
    memory: dict = field(default_factory=dict)
    output: str = ""  # what torchrun itself printed (its log at level INFO)

    @property
    def world_size(self) -> int:
        return len(self.info)


PORT_BUSY = ("address already in use", "eaddrinuse", "errno 98")


def _advice(output: str, port: int) -> str:
    lines = output.strip().splitlines()
    clues = [line for line in lines if any(w in line for w in ("Error", "error:", "terminate called", "what():"))]
    tail = "\n".join(list(dict.fromkeys(clues))[:6] + lines[-8:])
    busy = any(word in output.lower() for word in PORT_BUSY)
    why = (f"port {port} on {HOST} was taken by another program" if busy else
           "the processes could not reach each other on the loopback address or a rank crashed")
    return (f"torchrun could not run the {SCRIPT} script ({why}).\n"
            f"What to do: run the cell again (it picks a new free port); close other notebooks that use "
            f"torch.distributed; if a firewall blocks connections to {HOST}, allow them for this machine; "
            f"if the output below names a Python error, that error is the cause.\n"
            f"The errors and the last lines of torchrun's output:\n{tail}")


def launch(out_dir: str | Path | None = None, nproc: int = 2, seed: int | None = None, timeout: float = 180,
           script_args: Sequence[str] = (), runner: Callable | None = None, attempts: int = 2) -> Run:
    """Start ``ddp_train`` with torchrun on ``nproc`` local processes, wait, and read their results.

    A failed launch (a busy port, a rank that lost its peer) is retried once with a new port. If it
    fails again or times out, ``DistributedLaunchError`` says what to do. ``runner(command, env, timeout)`` (for tests)
    replaces ``run_watched``.
    """
    from course_utils import runtime

    if timeout <= 0:
        raise ValueError(f"timeout is in seconds and must be positive; got {timeout!r}.")
    if seed is None:
        seed = runtime.current().seed
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="course22-"))
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", _loopback_name()),
           "PYTHONUNBUFFERED": "1", "LOGLEVEL": "INFO"}  # LOGLEVEL: torchrun reports its launch
    runner = runner or run_watched
    for attempt in range(attempts):
        port = free_port()
        command = torchrun_command(out, port, nproc=nproc, seed=seed, script_args=script_args)
        try:
            code, output, measured = runner(command, env, timeout)
        except subprocess.TimeoutExpired as error:
            raise DistributedLaunchError(
                f"torchrun did not finish within {timeout:.0f} s. What to do: a rank is probably waiting for a "
                f"peer that never connected (a firewall blocking {HOST}, or a stale process holding the port); "
                f"restart the kernel and run the cell again, or give launch() a larger timeout on a busy "
                f"machine.") from error
        if code == 0:
            break
        if attempt == attempts - 1:  # a busy port or a rank that lost its peer: one more try, new port
            raise DistributedLaunchError(_advice(output, port))
    info, tensors = [], []
    for rank in range(nproc):
        try:
            info.append(json.loads((out / f"rank{rank}.json").read_text()))
            tensors.append(torch.load(out / f"rank{rank}.pt", map_location="cpu", weights_only=True))
        except (OSError, ValueError) as error:
            raise DistributedLaunchError(
                f"torchrun finished but rank {rank} left no results in {out} ({error}). What to do: run the "
                f"cell again; if it keeps happening, run the command printed by torchrun_command() in a "
                f"terminal to see the script's own error.") from error
    return Run(info, tensors, command, measured.get("wall_s", 0.0),
               {k: v for k, v in measured.items() if k != "wall_s"}, output)


TORCHRUN_KEYS = ("min_nodes", "max_nodes", "nproc_per_node", "rdzv_backend", "max_restarts", "restart_count",
                 "group_rank", "group_world_size", "local_ranks", "global_ranks", "global_world_sizes")


def torchrun_report(output: str) -> list[str]:
    """The lines of torchrun's own log that describe the launch, without its log prefixes, ports and pids.

    torchrun (at LOGLEVEL=INFO) prints its launch settings, the ranks it handed out and how the worker
    group ended; prefixes carry times, pids and file names, which are dropped here.
    """
    lines = []
    for raw in output.splitlines():
        text = raw.split("] ", 1)[1] if raw[:1] in "IWE" and "] " in raw else raw
        text = text.strip()
        key = text.split(":", 1)[0].split("=", 1)[0].strip()
        if key in TORCHRUN_KEYS or "worker group successfully finished" in text or "WorkerState." in text:
            lines.append(" ".join(text.split()).split(" Waiting")[0])
    return list(dict.fromkeys(lines))


def _loopback_name() -> str:
    """The name of the loopback network interface for gloo (lo on Linux, lo0 on macOS)."""
    return "lo0" if sys.platform == "darwin" else "lo"


# --- the ring all-reduce, from scratch, and its cost


def ring_allreduce(tensors: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[int]]:
    """Sum ``tensors`` (one per simulated worker) with the ring algorithm; return every worker's result
    and the number of elements each worker sent.

    Each vector is cut into N chunks. Reduce-scatter: in N − 1 steps every worker passes one chunk to its
    right-hand neighbour, which adds it to its own; afterwards worker i holds the complete sum of chunk
    i + 1. All-gather: in N − 1 more steps the finished chunks travel once around the ring.
    """
    n = len(tensors)
    if n < 1 or any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError("ring_allreduce needs at least one tensor and all tensors of the same shape.")
    chunks = [list(t.detach().flatten().clone().tensor_split(n)) for t in tensors]
    sent = [0] * n
    for phase in ("reduce-scatter", "all-gather"):
        for step in range(n - 1):
            # everyone sends at the same time: take all messages first, then deliver them
            messages = []
            for i in range(n):
                c = (i - step) % n if phase == "reduce-scatter" else (i + 1 - step) % n
                messages.append((i, c, chunks[i][c].clone()))
                sent[i] += chunks[i][c].numel()
            for i, c, payload in messages:
                right = (i + 1) % n
                if phase == "reduce-scatter":
                    chunks[right][c] += payload
                else:
                    chunks[right][c] = payload
    shape = tensors[0].shape
    return [torch.cat(c).reshape(shape) for c in chunks], sent


def ring_bytes_per_worker(gradient_bytes: float, workers: int) -> float:
    """Bytes each worker sends in one ring all-reduce of ``gradient_bytes``: 2(N − 1)/N × the bytes."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers!r}.")
    return 2 * (workers - 1) / workers * gradient_bytes


def allreduce_seconds(gradient_bytes: float, workers: int, bandwidth: float, latency: float = 0.0) -> float:
    """Time of one ring all-reduce: 2(N − 1) messages of latency ``latency`` (s) plus the bytes at
    ``bandwidth`` (bytes/s per worker)."""
    if bandwidth <= 0 or latency < 0:
        raise ValueError(f"bandwidth must be positive and latency ≥ 0; got {bandwidth!r} and {latency!r}.")
    return 2 * (workers - 1) * latency + ring_bytes_per_worker(gradient_bytes, workers) / bandwidth


def scaling_efficiency(compute_s: float, gradient_bytes: float, workers: int, bandwidth: float,
                       latency: float = 0.0, overlap: float = 0.0) -> float:
    """Speed-up / N with a fixed batch per worker: compute / (compute + communication not hidden).

    ``overlap`` is the fraction of the all-reduce hidden behind the backward pass (0: none, the
    pessimistic case; DDP hides part of it by reducing buckets while backward still runs).
    """
    if compute_s <= 0 or not 0 <= overlap <= 1:
        raise ValueError(f"compute_s must be positive and overlap between 0 and 1; got {compute_s!r}, {overlap!r}.")
    comm = allreduce_seconds(gradient_bytes, workers, bandwidth, latency) * (1 - overlap)
    return compute_s / (compute_s + comm)


# --- figures


def collectives_figure(run: Run):
    """Each rank's tensor before and after all_reduce, broadcast and all_gather."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10, 2.2))
    for ax, name in zip(axes, ("all_reduce", "broadcast", "all_gather"), strict=True):
        ax.axis("off")
        ax.set_title(name, fontsize=10)
        for rank, info in enumerate(run.info):
            before, after = info["collectives"][name]
            y = 0.7 - 0.45 * rank
            ax.text(0.0, y, f"rank {rank}", fontsize=9, va="center", weight="bold")
            ax.text(0.27, y, _fmt(before), fontsize=9, va="center", family="monospace",
                    bbox={"fc": f"C{rank}", "alpha": 0.25, "ec": "none"})
            ax.annotate("", xy=(0.62, y), xytext=(0.52, y), arrowprops={"arrowstyle": "->"})
            ax.text(0.65, y, _fmt(after), fontsize=9, va="center", family="monospace",
                    bbox={"fc": "0.85", "ec": "none"})
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    fig.tight_layout()
    return fig


def _fmt(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return "[" + ", ".join(f"{v:g}" for v in value) + "]"


def shards_figure(shards: Sequence[dict], n: int):
    """Which rank gets each sample index, per epoch (DistributedSampler)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    epochs = sorted(int(e) for e in shards[0])
    owner = torch.full((len(epochs), n), -1.0)
    for rank, per_epoch in enumerate(shards):
        for row, epoch in enumerate(epochs):
            owner[row, per_epoch[str(epoch)] if str(epoch) in per_epoch else per_epoch[epoch]] = rank
    fig, ax = plt.subplots(figsize=(8, 1.6))
    ax.imshow(owner.numpy(), cmap=ListedColormap(["C0", "C1", "C2", "C3"][:len(shards)]), aspect="auto")
    ax.set_yticks(range(len(epochs)), [f"epoch {e}" for e in epochs])
    ax.set_xticks(range(n))
    ax.set_xlabel("sample index")
    ax.set_title("DistributedSampler: blue = rank 0, orange = rank 1", fontsize=10)
    return plots.finish(fig)


WORKERS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # the x axis of the efficiency curves


def efficiency_figure(models: dict[str, tuple[float, float]], bandwidth: float, latency: float, workers: Sequence[int] = WORKERS, overlap: float = 0.0):
    """Scaling efficiency against the number of workers for {name: (gradient bytes, compute seconds)}."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    for name, (nbytes, compute) in models.items():
        ax.plot(workers, [scaling_efficiency(compute, nbytes, n, bandwidth, latency, overlap) for n in workers],
                marker="o", ms=3, label=name)
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("workers N")
    ax.set_ylabel("scaling efficiency (speed-up / N)")
    ax.set_title(f"ring all-reduce at {bandwidth / 1e9:g} GB/s per worker, {latency * 1e6:g} µs per message, "
                 f"{overlap:.0%} overlap", fontsize=9)
    ax.legend(fontsize=8)
    return plots.finish(fig)


class ScalingExplorer(Explorer):
    """Model size, compute time per step, bandwidth, latency and overlap; the efficiency curve redraws.

    The status says whether 64 workers still scale, i.e. reach an efficiency of at least ``THRESHOLD``.
    Tests set ``.params.value`` (or ``.compute_ms``, ``.bandwidth``, ``.latency_us``, ``.overlap``) and read
    ``.redraws``, ``.at_64`` and ``.status.value``.
    """

    THRESHOLD = 0.5  # below it, more than half of every step is communication: "stops scaling"
    description = ("log sliders for the parameter count, compute time per step, bandwidth and latency, and an "
                   "overlap slider")

    def __init__(self, params: float = 1e9, compute_ms: float = 1000.0, bandwidth_gbs: float = 10.0, latency_us: float = 20.0, overlap: float = 0.0) -> None:
        import ipywidgets as w

        if params <= 0 or compute_ms <= 0 or bandwidth_gbs <= 0 or latency_us < 0:
            raise ValueError("ScalingExplorer needs params, compute_ms and bandwidth_gbs > 0 and latency_us ≥ 0.")

        def log_slider(value, low, high, label, fmt):
            return w.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.25, description=label,
                                    readout_format=fmt)

        self.params = log_slider(params, 3, 11, "parameters", ".2g")
        self.compute_ms = log_slider(compute_ms, -1, 4, "compute ms", ".3g")
        self.bandwidth = log_slider(bandwidth_gbs, -1, 3, "GB/s", ".3g")
        self.latency_us = log_slider(max(latency_us, 0.1), -1, 4, "latency µs", ".3g")
        self.overlap = w.FloatSlider(value=overlap, min=0, max=1, step=0.1, description="overlap")
        self.start((self.params, self.compute_ms), (self.bandwidth, self.latency_us), self.overlap)

    def _settings(self) -> tuple[float, float, float, float]:
        return (4 * self.params.value, self.compute_ms.value / 1000, self.bandwidth.value * 1e9,
                self.latency_us.value * 1e-6)

    def figure(self):
        nbytes, compute, bandwidth, latency = self._settings()
        self.at_64 = scaling_efficiency(compute, nbytes, 64, bandwidth, latency, self.overlap.value)
        label = f"{self.params.value:.2g} parameters, {self.compute_ms.value:.3g} ms compute"
        fig = efficiency_figure({label: (nbytes, compute)}, bandwidth, latency, overlap=self.overlap.value)
        fig.axes[0].axhline(self.THRESHOLD, color="k", ls=":", lw=0.8)
        return fig

    def on_redraw(self) -> None:
        nbytes, _, bandwidth, latency = self._settings()
        comm = allreduce_seconds(nbytes, 64, bandwidth, latency) * (1 - self.overlap.value)
        verdict = ("still scales" if self.at_64 >= self.THRESHOLD else "has stopped scaling")
        self.status.value = (f"64 workers: efficiency <b>{self.at_64:.2f}</b> ({verdict}: the threshold is "
                             f"{self.THRESHOLD}), speed-up {64 * self.at_64:.1f}×, all-reduce not hidden "
                             f"{comm * 1000:.3g} ms per step")


def timing_figure(run: Run, steps: int):
    """(timed) Left: ms per step of each phase, the speed-up of 2 ranks in the title. Right: memory per process."""
    import matplotlib.pyplot as plt

    t = merged_timing(run)
    labels = ["1 process,\nwhole batch", "2 processes,\nhalf each,\nno comm", "DDP, 2 ranks,\nhalf each",
              "all-reduce\nonly"]
    values = [t[k] / steps * 1000 for k in ("single_s", "half_compute_s", "ddp_s", "allreduce_s")]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [3, 2]})
    a.bar(labels, values, color=["C7", "C2", "C0", "C3"])
    a.set_ylabel("ms per step")
    a.set_title(f"(timed) 2 ranks run {t['single_s'] / t['ddp_s']:.2f}× the speed of 1 process", fontsize=10)
    a.tick_params(axis="x", labelsize=8)
    names, sizes = [], []
    for info in run.info:
        if info.get("import_rss_mb") and info.get("peak_rss_mb"):
            names += [f"rank {info['rank']}\nafter import", f"rank {info['rank']}\npeak"]
            sizes += [info["import_rss_mb"], info["peak_rss_mb"]]
    b.bar(names, sizes, color=["C1", "C0"] * len(run.info))
    b.set_ylabel("resident memory, MB")
    b.tick_params(axis="x", labelsize=8)
    if run.memory:
        b.set_title(f"(measured) all processes together: {run.memory['peak_pss_mb']:.0f} MB\n"
                    f"(shared pages once; {run.memory['peak_rss_sum_mb']:.0f} MB counted per process)", fontsize=9)
    fig.tight_layout()
    return fig


def merged_timing(run: Run) -> dict:
    """Rank 0's single-process time and, for the parallel phases, the slowest rank's time."""
    t = dict(run.info[0]["timing"])
    for key in ("half_compute_s", "ddp_s", "allreduce_s"):
        t[key] = max(info["timing"][key] for info in run.info)
    return t


def timing_ratios(run: Run) -> dict:
    """What the timings say: the speed-ups of the compute alone and of DDP, and the communication DDP
    did not hide (DDP's time minus the compute-only time), per step in ms next to the all-reduce alone."""
    t = merged_timing(run)
    steps = run.info[0]["timing"].get("steps", 1)
    return {"compute_speedup": t["single_s"] / t["half_compute_s"], "ddp_speedup": t["single_s"] / t["ddp_s"],
            "unhidden_ms": (t["ddp_s"] - t["half_compute_s"]) / steps * 1000,
            "allreduce_ms": t["allreduce_s"] / steps * 1000}


def efficiency_table(models: dict[str, int], workers: Sequence[int], bandwidth: float, latency: float) -> str:
    """Text table: parameters, gradient MB (float32) and ring all-reduce ms per step for each N."""
    head = f"{'model':<34}{'parameters':>14}{'gradient MB':>13}" + "".join(f"{f'N={n} ms':>12}" for n in workers)
    rows = [head]
    for name, count in models.items():
        nbytes = 4 * count
        cells = "".join(f"{allreduce_seconds(nbytes, n, bandwidth, latency) * 1000:>12.3g}" for n in workers)
        rows.append(f"{name:<34}{count:>14,}{nbytes / 1e6:>13.3g}{cells}")
    return "\n".join(rows)



