"""Topic helpers: one module per notebook topic, named after it.

A topic module holds the pure functions its notebook builds on and, at the bottom, the
widget shells (``widgets.Explorer`` subclasses) over them. A topic whose helpers outgrow one
module becomes a package (``training_loops``). Shared infrastructure (set-up, checks,
widgets, plots, training, data) lives one level up, in ``course_utils``.
"""
