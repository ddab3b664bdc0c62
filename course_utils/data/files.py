"""Bundled dataset files: where they are, and a checksum check on every load."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHECKSUM_FILE = "SHA256SUMS"


class DatasetMissingError(FileNotFoundError):
    """A bundled dataset file is not where the course expects it."""


class DatasetCorruptedError(ValueError):
    """A bundled dataset file does not match its recorded checksum."""


def datasets_dir() -> Path:
    """The course's ``datasets/`` folder (``COURSE_DATASETS_DIR`` overrides it)."""
    override = os.environ.get("COURSE_DATASETS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "datasets"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(folder: Path) -> dict[str, str]:
    """Parse ``SHA256SUMS`` (``<hex>  <name>`` per line) into ``{name: hex}``."""
    sums_path = folder / CHECKSUM_FILE
    if not sums_path.exists():
        raise DatasetMissingError(
            f"{sums_path} is missing, so the bundled data cannot be verified. "
            "Restore it with `git checkout -- datasets/SHA256SUMS`."
        )
    sums: dict[str, str] = {}
    for line_no, line in enumerate(sums_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DatasetCorruptedError(f"{sums_path}, line {line_no}: expected '<sha256>  <file name>'.")
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def dataset_path(name: str, folder: Path | None = None) -> Path:
    """Path of a bundled file after checking it exists and matches its checksum.

    Raises:
        DatasetMissingError: the file is absent (the message says how to restore it).
        DatasetCorruptedError: the file was changed or damaged.
    """
    folder = datasets_dir() if folder is None else Path(folder)
    path = folder / name
    restore = f"Restore it with `git checkout -- datasets/{name}` (or download the course again)."
    if not path.exists():
        raise DatasetMissingError(f"Dataset file datasets/{name} is missing ({path}). {restore}")
    sums = read_checksums(folder)
    if name not in sums:
        raise DatasetCorruptedError(
            f"datasets/{name} has no entry in datasets/{CHECKSUM_FILE}; add one with "
            f"`sha256sum {name} >> {CHECKSUM_FILE}` inside datasets/ if the file is new."
        )
    actual = sha256_of(path)
    if actual != sums[name]:
        raise DatasetCorruptedError(
            f"datasets/{name} does not match its checksum (expected {sums[name][:12]}..., "
            f"got {actual[:12]}...): the file was changed or damaged. {restore} "
            "If you regenerated it on purpose, update datasets/SHA256SUMS too."
        )
    return path
