"""course_utils: the helper package of the course "Deep Learning with PyTorch, in Jupyter".

Start every notebook with::

    from course_utils import setup
    setup(seed=0)

Shared modules: ``runtime`` (set-up), ``checks`` (exercise checks and learning-outcome bars),
``widgets`` (the ``Explorer`` protocol), ``quiz``, ``plots``, ``training`` (``fit``/``evaluate``/
``predict``), ``models`` (``mlp``, activations, weight averages), ``cache``, ``judge``, ``outcomes``.
Subpackages: ``data`` (offline datasets), ``topics`` (one module per notebook topic),
``exercises`` (``exNN``: the checks of notebook NN), ``dev`` (authoring and test tools).
"""

__version__ = "0.1.0"

from course_utils.runtime import setup

__all__ = ["__version__", "setup"]
