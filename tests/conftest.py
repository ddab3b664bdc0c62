"""Shared settings for the unit tests: a non-interactive plot backend and few threads."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")
