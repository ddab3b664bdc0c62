"""A small disk cache for trained weights, in the system's temporary folder.

A cached file is named by a hash of everything its result depends on: the caller's key
(recipe, seed, data digest...) and ``runtime.cache_context`` (the machine's float
fingerprint, the seed-sweep shift and the code of the given source files). Reading it is
optional: a missing, broken or unreadable file means "train again"; nothing depends on
another notebook having run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from course_utils import runtime


def digest(tensor: torch.Tensor) -> str:
    """A short hash of a tensor's bytes (to key a cache on its training data)."""
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def key_hash(key: Mapping[str, Any], *sources: str | Path) -> str:
    """A short hash of ``key`` and of ``runtime.cache_context(*sources)``."""
    text = json.dumps({"key": key, "context": runtime.cache_context(*sources)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def path_for(kind: str, key: Mapping[str, Any], *sources: str | Path) -> Path:
    """Where a result of ``kind`` (e.g. ``"gan"``) with this key is kept."""
    return Path(tempfile.gettempdir()) / f"course_utils_{kind}_{key_hash(key, *sources)}.pt"


def save(state: Mapping[str, torch.Tensor], path: Path) -> Path | None:
    """Write ``state`` atomically (two sessions at once never leave half a file); None if not writable."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
        os.close(handle)
        torch.save(dict(state), temporary)
        os.replace(temporary, path)
    except OSError:  # a read-only temporary folder only costs training again next time
        return None
    return path


def load(path: Path) -> dict[str, torch.Tensor] | None:
    """The saved state (``weights_only=True``), or None when the file is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a broken or foreign file: the caller trains again and overwrites it
        return None
