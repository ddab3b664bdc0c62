"""Loaded automatically by Python when tests/offline is on PYTHONPATH: turn the offline guard on."""

import offline_guard

offline_guard.install()
