"""Shared helpers for tests that read notebooks as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")

# The core of the course, in order (README course map); deep dives follow from 14 on.
CORE = {
    "00": "welcome", "01": "tensors", "02": "layers", "03": "activations", "04": "loss",
    "05": "backprop", "06": "training", "07": "init", "08": "cnn", "09": "rnn",
    "10": "transformers", "11": "gans", "12": "diffusion", "13": "compression",
}


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell.get("source", ""))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])
