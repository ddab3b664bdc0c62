"""How stored notebook outputs are compared with fresh ones: strictly, or portably.

Floating-point results are bit-identical only on machines with the same *fingerprint*
(torch build, vectorised-kernel level, BLAS, thread count, CPU): see
``course_utils.runtime.fingerprint``. Every notebook stores the fingerprint it was executed on
(``metadata.course.fingerprint``), and its outputs come in two kinds:

* kind (a), machine-independent (shapes, dtypes, exact results, text, agreement with PyTorch
  up to its bar): compared exactly on every machine;
* kind (b), float-path-dependent (what a training run, sampling or a long float computation
  prints): a cell whose output is of this kind carries a tag that says how to compare it on a
  machine with another fingerprint:

  - ``float-path:rtol=R:atol=A``: the text must be the same and every number within
    ``A + R * |stored|`` of the stored one (either part may be left out);
  - ``float-path:bar``: the output is not compared; the learning outcome it shows is asserted
    by an ``expect_*`` call in the same cell, which fails the cell when it misses its bar.

On a machine with the recording fingerprint every cell is compared exactly (*strict* mode), so
one changed digit fails there; elsewhere (*portable* mode) kind (b) cells follow their tags, and the gaps
that ``checks.expect_close`` prints are compared only through their bar (on the recording machine their
order of magnitude is compared, and an exact 0 must stay 0).
``COURSE_COMPARE=strict|portable`` forces a mode (``auto``, the default, decides by fingerprint).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

TAG = "float-path"
STRICT, PORTABLE = "strict", "portable"
MODES = ("auto", STRICT, PORTABLE)
FINGERPRINT_FIELDS = ("torch", "machine", "cpu", "capability", "blas", "threads", "float_env")
SKIPPED_KEYS = ("image/", "application/vnd.jupyter.widget-view+json")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b")


class RuleError(ValueError):
    """A ``float-path`` tag that cannot be read."""


@dataclass(frozen=True)
class Rule:
    """How a kind-(b) cell is compared in portable mode."""

    bar: bool = False  # not compared: its expect_* call asserts the outcome
    rtol: float = 0.0
    atol: float = 0.0

    def describe(self) -> str:
        return "asserted by its bar" if self.bar else f"numbers within {self.atol:g} + {self.rtol:g}·|stored|"


def parse_rule(tags: Iterable[str]) -> Rule | None:
    """The cell's ``float-path`` rule, or None for a kind-(a) cell."""
    found = [t for t in tags if t == TAG or t.startswith(TAG + ":")]
    if not found:
        return None
    if len(found) > 1:
        raise RuleError(f"one float-path tag per cell; found {found}")
    spec = found[0].removeprefix(TAG).removeprefix(":")
    if spec == "bar":
        return Rule(bar=True)
    values: dict[str, float] = {}
    for part in filter(None, spec.split(":")):
        name, _, number = part.partition("=")
        try:
            values[name] = float(number)
        except ValueError:
            name = ""
        if name not in ("rtol", "atol") or values[name] < 0 or not math.isfinite(values[name]):
            raise RuleError(
                f"cannot read the tag {found[0]!r}: write float-path:bar or float-path:rtol=R:atol=A "
                "with non-negative numbers"
            )
    if not any(values.values()):
        raise RuleError(f"the tag {found[0]!r} gives no tolerance: add rtol=... and/or atol=..., or use float-path:bar")
    return Rule(rtol=values.get("rtol", 0.0), atol=values.get("atol", 0.0))


def forced_mode() -> str:
    """``COURSE_COMPARE`` (auto, strict or portable)."""
    mode = os.environ.get("COURSE_COMPARE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise RuleError(f"COURSE_COMPARE must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def recorded_fingerprint(nb: Mapping) -> dict | None:
    return nb.get("metadata", {}).get("course", {}).get("fingerprint")


def mode_for(recorded: Mapping | None, here: Mapping, forced: str = "auto") -> str:
    """Strict when this machine has the recording fingerprint (or when forced), else portable."""
    if forced != "auto":
        return forced
    return STRICT if recorded is not None and dict(recorded) == dict(here) else PORTABLE


def describe_fingerprint(fp: Mapping | None) -> str:
    if not fp:
        return "no fingerprint"
    text = f"torch {fp['torch']}, {fp['machine']} {fp['capability']}, {fp['blas']}, {fp['threads']} thread(s), {fp['cpu']}"
    return text + (f", {fp['float_env']}" if fp.get("float_env") else "")


def group_outputs(outputs: Iterable[Mapping], sanitize: Callable[[str], str] = lambda s: s) -> dict[str, list[str]]:
    """A cell's outputs as nbval compares them: streams joined by name, data by MIME type,
    images and widget ids left out, each string sanitised."""
    grouped: dict[str, list[str]] = {}
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            grouped.setdefault(output["name"], [""])[0] += "".join(output["text"])
        elif kind == "error":
            grouped.setdefault("error", []).append(f"{output['ename']}: {output['evalue']}")
        else:
            for key, value in output.get("data", {}).items():
                if not key.startswith(SKIPPED_KEYS):
                    grouped.setdefault(key, []).append(value if isinstance(value, str) else "".join(value))
    return {key: [sanitize(v) for v in values] for key, values in grouped.items()}


# After sanitize.cfg, an expect_close gap reads "max difference EXACT-ZERO (bar" or "... ~1e-07 (bar". Its size
# is rounding noise of this machine's kernels, so a portable comparison keeps only the bar (which the call asserts).
GAP = re.compile(r"max difference (EXACT-ZERO|~1e[-+]\d+) \(bar")


def mask_gaps(text: str) -> str:
    """Hide the size of expect_close gaps (for portable comparisons)."""
    return GAP.sub("max difference GAP (bar", text)


def _close(stored: str, fresh: str, rule: Rule) -> bool:
    if stored == fresh:
        return True
    try:
        a, b = float(stored), float(fresh)
    except ValueError:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rule.atol + rule.rtol * abs(a)


def compare_text(stored: str, fresh: str, rule: Rule) -> str | None:
    """None when ``fresh`` equals ``stored`` up to the rule's tolerance on numbers, else why not."""
    if stored == fresh:
        return None
    text_a, text_b = NUMBER.split(stored), NUMBER.split(fresh)
    nums_a, nums_b = NUMBER.findall(stored), NUMBER.findall(fresh)
    if text_a != text_b or len(nums_a) != len(nums_b):
        for i, (x, y) in enumerate(zip(text_a, text_b, strict=False)):
            if x != y:
                return f"the text differs (not only numbers) near {x[:60]!r} vs {y[:60]!r} (part {i})"
        return "the text differs (not only numbers): a different number of parts"
    for a, b in zip(nums_a, nums_b, strict=True):
        if not _close(a, b, rule):
            return f"{b} differs from the stored {a} by more than {rule.atol:g} + {rule.rtol:g}·|stored|"
    return None


def compare_grouped(stored: Mapping[str, list[str]], fresh: Mapping[str, list[str]], rule: Rule | None) -> str | None:
    """None when the fresh outputs pass (``rule`` None means exactly equal), else why they do not."""
    if rule is not None and rule.bar:
        return None
    if set(stored) != set(fresh):
        return f"output kinds differ: stored {sorted(stored)}, fresh {sorted(fresh)}"
    for key in stored:
        if len(stored[key]) != len(fresh[key]):
            return f"{key}: {len(stored[key])} stored outputs, {len(fresh[key])} fresh ones"
        for a, b in zip(stored[key], fresh[key], strict=True):
            problem = (None if a == b else "differs") if rule is None else compare_text(a, b, rule)
            if problem:
                return f"{key}: {problem}\nstored: {a[:2000]}\nfresh:  {b[:2000]}"
    return None


NOT_MEASURED = re.compile(r"\(bar: [^)]*\)|Exercise \d+\.\d+")


def numbers_in(text: str) -> set[float]:
    """Measured-looking numbers: a fractional part and at least 3 significant digits (0.985, 72.8,
    4.12e-06), leaving out the bars printed by ``expect_*`` (the same on every machine) and exercise ids.
    Used to find kind-(b) figures quoted in prose."""
    found = set()
    for token in NUMBER.findall(NOT_MEASURED.sub("", text)):
        mantissa = re.split(r"[eE]", token)[0]
        digits = mantissa.replace("-", "").replace("+", "").replace(".", "").lstrip("0")
        if re.search(r"\d\.\d", mantissa) and len(digits) >= 3:
            value = float(token)
            if value != 0:
                found.add(value)
    return found
