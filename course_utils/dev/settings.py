"""The course's run settings and budgets, in one place (tests, benchmark and tools read them here)."""

from __future__ import annotations

# The environment every notebook is executed and checked in: one torch thread, a fixed hash seed.
RUN_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "COURSE_THREADS": "1",
    "COURSE_SCALE": "small",
}
CORE_SECONDS_BUDGET = 60.0  # each core notebook (00-13), 2-core CPU
DEEP_DIVE_SECONDS_BUDGET = 45.0  # each deep dive (14-22)
COURSE_SECONDS_BUDGET = 600.0  # the whole course
MEMORY_BUDGET_MB = 1500.0  # peak kernel memory of any notebook (Binder gives 2 GB)
# "Another machine", simulated on this one for the second notebook pass and the seed sweep:
# PyTorch's non-vectorised kernels, MKL's conditional-reproducibility code path and oneDNN capped at
# SSE4.1, so that every float path (elementwise ops, matrix products, convolutions) differs.
# Where the course is published: the Binder badges, the site's launch buttons and the Pages workflow
# read it here (`make badges` rewrites every badge from it). A placeholder until the public home is known.
PUBLIC_REPOSITORY = "OWNER/dl-pytorch-course"
PUBLIC_REF = "main"
FOREIGN_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def _as_env(values: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


if __name__ == "__main__":  # `python -m course_utils.dev.settings run-env|foreign-env`, for the Makefile
    import sys

    choices = {"run-env": RUN_ENV, "foreign-env": FOREIGN_ENV}
    if len(sys.argv) != 2 or sys.argv[1] not in choices:
        sys.exit(f"usage: python -m course_utils.dev.settings {'|'.join(choices)}")
    print(_as_env(choices[sys.argv[1]]))
