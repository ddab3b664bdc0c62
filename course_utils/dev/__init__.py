"""Maintainer tools: execute notebooks, write student editions, benchmark the course."""
