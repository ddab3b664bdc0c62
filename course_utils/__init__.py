"""course_utils: the helper package of the course "Deep Learning with PyTorch, in Jupyter".

Start every notebook with::

    from course_utils import setup
    setup(seed=0)

Modules: ``runtime`` (set-up), ``data`` (offline datasets), ``plots``,
``checks`` (exercise checks and learning-outcome bars), ``quiz``, ``widgets``,
``training`` (``fit``/``evaluate``), ``outcomes`` (figures for the benchmark).
"""

__version__ = "0.1.0"

from course_utils.runtime import setup

__all__ = ["__version__", "setup"]
