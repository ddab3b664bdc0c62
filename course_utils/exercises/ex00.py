"""Checks for notebook 00 (welcome)."""

from course_utils import checks


def check_1(n_pixels) -> None:
    """Exercise 00.1: the number of pixels of one 8x8 digit."""
    hint = "an 8x8 image has 8 rows of 8 pixels: multiply, don't add."
    checks.check_value("00.1", n_pixels, 64, hint=hint if n_pixels == 16 else "count rows times columns.")
