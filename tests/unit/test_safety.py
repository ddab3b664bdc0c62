"""Safe loading and no dynamic code in course_utils (the notebooks get the same scan in the policy test)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "course_utils").rglob("*.py")) + sorted((ROOT / "datasets").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_unsafe_loading_or_dynamic_code(path):
    text = path.read_text(encoding="utf-8")
    for call in re.findall(r"torch\.load\((?:[^()]|\([^()]*\))*\)", text):
        assert "weights_only=True" in call, f"{call}: torch.load needs weights_only=True"
    assert not re.search(r"(?<![.\w])(eval|exec)\(", text), "eval/exec of strings"
    assert not re.search(r"^\s*import pickle|pickle\.loads?\(", text, re.M), "unpickling"
