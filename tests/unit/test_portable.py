"""Strict and portable comparison of notebook outputs (tests/notebooks/portable.py)."""

import pytest

from tests.notebooks import portable


def test_rules_are_read_from_the_cell_tag():
    assert portable.parse_rule(["solution"]) is None
    assert portable.parse_rule(["float-path:bar"]) == portable.Rule(bar=True)
    assert portable.parse_rule(["x", "float-path:rtol=0.05:atol=0.01"]) == portable.Rule(rtol=0.05, atol=0.01)
    assert portable.parse_rule(["float-path:atol=0.02"]) == portable.Rule(atol=0.02)
    for bad in (["float-path"], ["float-path:rtol=x"], ["float-path:tol=1"], ["float-path:rtol=-1"],
                ["float-path:bar", "float-path:atol=1"], ["float-path:rtol=0"]):
        with pytest.raises(portable.RuleError):
            portable.parse_rule(bad)


def test_numbers_within_tolerance_pass_and_text_must_match():
    rule = portable.Rule(rtol=0.05, atol=0.001)
    assert portable.compare_text("accuracy 0.9805 (3 errors)", "accuracy 0.9777 (3 errors)", rule) is None
    assert "differs from the stored 0.9805" in portable.compare_text("accuracy 0.9805", "accuracy 0.5000", rule)
    assert "text differs" in portable.compare_text("accuracy 0.9805", "loss 0.9805", rule)
    assert "text differs" in portable.compare_text("0.1 0.2", "0.1", rule)
    assert portable.compare_text("mean -0.0000", "mean 0.0000", rule) is None
    assert portable.compare_text("gap 4.0e-06", "gap 4.1e-06", rule) is None
    assert portable.compare_text("loss nan", "loss nan", rule) is None
    assert portable.compare_text("loss 1.0", "loss nan", rule) is not None


def test_grouped_outputs_strict_portable_and_bar():
    stored = portable.group_outputs([{"output_type": "stream", "name": "stdout", "text": "loss 0.500\n"},
                                     {"output_type": "display_data", "data": {"text/plain": "<Figure>",
                                                                              "image/png": "AAA"}}])
    fresh = portable.group_outputs([{"output_type": "stream", "name": "stdout", "text": "loss 0.510\n"},
                                    {"output_type": "display_data", "data": {"text/plain": "<Figure>",
                                                                             "image/png": "BBB"}}])
    assert stored == {"stdout": ["loss 0.500\n"], "text/plain": ["<Figure>"]}  # images are never compared
    assert "stdout: differs" in portable.compare_grouped(stored, fresh, None)  # strict: one digit fails
    assert portable.compare_grouped(stored, fresh, portable.Rule(rtol=0.05)) is None
    assert portable.compare_grouped(stored, fresh, portable.Rule(rtol=0.01)) is not None
    assert portable.compare_grouped(stored, {"stdout": ["x"]}, portable.Rule(bar=True)) is None
    assert "output kinds differ" in portable.compare_grouped(stored, {"stdout": ["loss 0.5"]}, portable.Rule(rtol=1))


def test_mode_follows_the_fingerprint_unless_forced(monkeypatch):
    here = {"torch": "2.14.1", "capability": "AVX512"}
    assert portable.mode_for(dict(here), here) == portable.STRICT
    assert portable.mode_for(dict(here, capability="AVX2"), here) == portable.PORTABLE
    assert portable.mode_for(None, here) == portable.PORTABLE
    assert portable.mode_for(dict(here), here, forced=portable.PORTABLE) == portable.PORTABLE
    monkeypatch.setenv("COURSE_COMPARE", "loose")
    with pytest.raises(portable.RuleError, match="COURSE_COMPARE must be one of auto, strict, portable"):
        portable.forced_mode()


def test_measured_looking_numbers_are_found_in_prose():
    text = "accuracy 0.9805, about 98 %, lr 0.1, FD 4.12, tiny 3.21e-08, 3.2e-08 (bar: ≥ 0.975), Exercise 11.4, 100."
    assert portable.numbers_in(text) == {0.9805, 4.12, 3.21e-08}


def test_expect_close_gaps_keep_their_decade_here_and_only_their_bar_elsewhere():
    import re

    from tests.notebooks.nbfiles import ROOT

    rules = re.findall(r"^regex: (.*)$\n^replace: (.*)$", (ROOT / "tests/notebooks/sanitize.cfg").read_text(), re.M)

    def sanitize(text):
        for regex, replacement in rules:
            text = re.sub(regex, replacement, text)
        return text

    zero, small, drifted = (sanitize(f"✅ conv vs F.conv2d: max difference {g} (bar: ≤ 1e-05)")
                            for g in ("0.0e+00", "2.4e-07", "9.0e-06"))
    assert len({zero, small, drifted}) == 3  # strict: 0 stays 0, and a drift of one decade shows
    assert sanitize("max difference 2.9e-07 (bar") == sanitize("max difference 2.4e-07 (bar")
    assert len({portable.mask_gaps(t) for t in (zero, small, drifted)}) == 1  # portable: only the bar counts
