"""Named learning-outcome figures a notebook reports (accuracies, distances, ratios).

``checks.expect_*`` call ``record``; so can a notebook directly. When the
environment variable ``COURSE_OUTCOMES_FILE`` names a file, each record is
appended to it as one JSON line; the course benchmark (``make bench``) sets it
and collects the figures of every notebook. Without it, recording only keeps the
figure in memory (``recorded()``).
"""

from __future__ import annotations

import json
import math
import os

_records: list[dict] = []


def record(name: str, value: float, *, bar: float | None = None, relation: str | None = None) -> None:
    """Record a named figure, optionally with the bar it is judged against."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("an outcome needs a non-empty name, e.g. 'test accuracy'.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"outcome {name!r} is {value}: only finite numbers can be recorded.")
    entry = {"name": name, "value": value, "bar": bar, "relation": relation}
    _records.append(entry)
    path = os.environ.get("COURSE_OUTCOMES_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def recorded() -> list[dict]:
    """The figures recorded in this session, oldest first."""
    return list(_records)
