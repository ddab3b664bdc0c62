"""Runtime set-up: seeds, threads, device, plot style and the scale switch.

Every notebook starts with ``setup(seed=0)``. This is the only module of the
course that changes global state (random generators, torch settings,
matplotlib style); everything else is pure.
"""

from __future__ import annotations

import os
import platform
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SCALES = ("small", "full")
# Environment variables that change which float kernels run (recorded in the fingerprint when set).
FLOAT_ENV = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE")
DEVICES = ("auto", "cpu", "cuda", "mps")


class CourseConfigError(ValueError):
    """A course setting (environment variable or argument) has a value we cannot use."""


@dataclass(frozen=True)
class RuntimeInfo:
    """What ``setup`` chose; ``report()`` is the one line it prints."""

    seed: int
    threads: int
    device: torch.device
    scale: str
    torch_version: str
    python_version: str

    def report(self) -> str:
        from course_utils import __version__

        return (
            f"course_utils {__version__} | torch {self.torch_version} | "
            f"device {self.device.type} | threads {self.threads} | seed {self.seed} | scale {self.scale}"
        )


_current: RuntimeInfo | None = None


def get_scale(value: str | None = None) -> str:
    """The course scale: ``small`` (default, fast, offline) or ``full`` (bigger data, may download).

    Read from ``value`` or else from the ``COURSE_SCALE`` environment variable.
    """
    raw = os.environ.get("COURSE_SCALE", "small") if value is None else value
    scale = raw.strip().lower() or "small"
    if scale not in SCALES:
        raise CourseConfigError(
            f"COURSE_SCALE must be one of {', '.join(SCALES)}; got {raw!r}. "
            "Unset it (`unset COURSE_SCALE`) for the default small scale, "
            "or set COURSE_SCALE=full to train the bigger, optional versions."
        )
    return scale


def pick_device(device: str = "auto", scale: str = "small") -> torch.device:
    """Choose where tensors live.

    ``auto`` means the CPU at the small scale (small models are fastest there and
    reproduce the stored outputs exactly on a machine like the one that made them) and the best
    accelerator at the full scale.
    """
    if device not in DEVICES:
        raise CourseConfigError(f"device must be one of {', '.join(DEVICES)}; got {device!r}.")
    if device == "auto":
        if scale == "small":
            return torch.device("cpu")
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise CourseConfigError("device='cuda' was asked for, but torch sees no CUDA GPU. Use device='auto'.")
    if device == "mps" and not torch.backends.mps.is_available():
        raise CourseConfigError("device='mps' was asked for, but this machine has no Apple GPU. Use 'auto'.")
    return torch.device(device)


def threads_from_env() -> int:
    """The torch thread count ``setup`` uses: ``COURSE_THREADS``, default 1."""
    raw = os.environ.get("COURSE_THREADS", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise CourseConfigError(f"COURSE_THREADS must be a positive integer; got {raw!r}.")
    return int(raw)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fingerprint() -> dict[str, str]:
    """What decides the last bits of a float result on the CPU.

    Two machines with the same fingerprint give bit-identical outputs (same torch build, same
    vectorised kernels, same BLAS, same thread count); machines that differ in any field may
    differ in the last digits of anything trained or sampled. ``ATEN_CPU_CAPABILITY`` changes
    the ``capability`` field; the variables in ``FLOAT_ENV`` that are set are listed in ``float_env``.
    """
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    tuned = [f"{k}={os.environ[k]}" for k in FLOAT_ENV if os.environ.get(k)]
    return {
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "blas": blas.group(1) if blas else "unknown",
        "threads": str(threads_from_env()),
        "float_env": " ".join(tuned),
    }


def seed_from_env(seed: int) -> int:
    """The seed ``setup`` uses: ``COURSE_SEED`` when it is set (a seed sweep), else ``seed``."""
    raw = os.environ.get("COURSE_SEED")
    if raw is None or raw == "":
        return seed
    if not raw.isdigit():
        raise CourseConfigError(f"COURSE_SEED must be a non-negative integer; got {raw!r}. Unset it for seed 0.")
    return int(raw)


_unsalted_manual_seed = torch.manual_seed
_seed_salt = 0


def _salt_manual_seed(salt: int) -> None:
    """Make every later ``torch.manual_seed(k)`` seed with ``k + salt`` (identity for salt 0).

    A notebook re-seeds torch before each experiment so that its cells can be re-run one by one.
    Under a seed sweep those fixed seeds must move too, or the sweep would repeat one run.
    """
    global _seed_salt
    _seed_salt = salt
    if salt == 0:
        torch.manual_seed = _unsalted_manual_seed
        return

    def manual_seed(seed: int) -> torch.Generator:
        return _unsalted_manual_seed(int(seed) + salt)

    manual_seed.__doc__ = f"torch.manual_seed, shifted by {salt} for the COURSE_SEED sweep."
    torch.manual_seed = manual_seed


SEED_SALT_STEP = 1000


def cache_context(*sources: str | Path) -> dict[str, str]:
    """What a cached result depends on besides its own arguments: the machine's fingerprint,
    the seed-sweep shift and the code of the given source files (so an edit invalidates it)."""
    import hashlib

    code = hashlib.sha256(b"".join(Path(source).read_bytes() for source in sources)).hexdigest()[:16]
    return {**fingerprint(), "seed_salt": str(_seed_salt), "code": code}


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run a block with torch's global generator seeded (``None``: left as it is), then put the
    caller's random state back, so building a model never shifts the learner's random numbers."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CourseConfigError(f"seed must be a non-negative int; got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - learners may use the legacy global generator
    torch.manual_seed(seed)


def torch_generator(seed: int | None = None) -> torch.Generator:
    """A fresh seeded generator, e.g. for ``DataLoader(..., generator=...)``.

    With ``seed=None`` it uses the seed given to ``setup`` (0 if ``setup`` has not run).
    """
    if seed is None:
        seed = _current.seed if _current is not None else 0
    return torch.Generator().manual_seed(seed)


def _style_plots() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.0, 3.6),
            "figure.dpi": 72,  # small PNGs keep the committed notebooks light
            "savefig.dpi": 72,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "image.cmap": "viridis",
        }
    )


def setup(seed: int = 0, *, threads: int | None = None, device: str = "auto", scale: str | None = None,
          quiet: bool = False) -> None:
    """Prepare a notebook: seeds, deterministic algorithms, threads, device, plot style.

    Args:
        seed: seed for ``random``, NumPy and torch. ``COURSE_SEED=s`` overrides it and shifts every
            later ``torch.manual_seed(k)`` to ``k + 1000 * s``, so that a seed sweep varies every
            seeded experiment of a notebook; ``COURSE_SEED=0`` is the stored run.
        threads: torch CPU threads; default 1 (the stored outputs were made with 1 thread,
            and results change in the 7th digit with another count). ``COURSE_THREADS`` overrides.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``; see ``pick_device``.
        scale: ``small`` or ``full``; default from ``COURSE_SCALE``.
        quiet: do not print the one-line report.
    """
    global _current
    scale = get_scale(scale)
    if threads is None:
        threads = threads_from_env()
    if not isinstance(threads, int) or threads < 1:
        raise CourseConfigError(f"threads must be a positive int; got {threads!r}.")
    swept = "COURSE_SEED" in os.environ and os.environ["COURSE_SEED"] != ""
    seed = seed_from_env(seed)
    _salt_manual_seed(SEED_SALT_STEP * seed if swept else 0)
    seed_everything(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    _style_plots()
    _current = RuntimeInfo(
        seed=seed,
        threads=threads,
        device=pick_device(device, scale),
        scale=scale,
        torch_version=torch.__version__.split("+")[0],
        python_version=platform.python_version(),
    )
    if not quiet:
        print(_current.report())


def current() -> RuntimeInfo:
    """The settings of the last ``setup`` call."""
    if _current is None:
        raise RuntimeError("setup() has not run yet: run the notebook's first code cell, `setup(seed=0)`.")
    return _current


def device() -> torch.device:
    """The device chosen by ``setup`` (CPU before ``setup`` runs)."""
    return _current.device if _current is not None else torch.device("cpu")


def scale() -> str:
    """The scale chosen by ``setup`` (or read from the environment before it runs)."""
    return _current.scale if _current is not None else get_scale()


def by_scale(small, full):
    """Pick a value by scale: ``epochs = by_scale(small=20, full=200)``."""
    return full if scale() == "full" else small
