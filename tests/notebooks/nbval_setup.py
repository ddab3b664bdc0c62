"""pytest plugin for the notebook run (loaded with ``-p tests.notebooks.nbval_setup``).

Two fixes for nbval 0.11 measured in shared/TOOLING_NOTES.md:
* nbval executes cells with ``store_history=False``, so IPython ignores a trailing
  ``;`` and shows ``[<matplotlib.lines.Line2D at 0x...>]``: execute with history on.
* nbval waits a fixed 5 s for each output after a cell's reply, which a busy 2-core
  runner can exceed: raise it to 60 s.
"""

from __future__ import annotations

from nbval.kernel import RunningKernel

OUTPUT_WAIT_SECONDS = 60


def _execute_with_history(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


RunningKernel.execute_cell_input = _execute_with_history


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_WAIT_SECONDS
