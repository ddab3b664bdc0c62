"""Shared settings for the tests: a non-interactive plot backend in the test process only.

(No MPLBACKEND environment variable: kernels started by the tests inherit the environment,
and they must use the inline backend the stored outputs were made with.)
"""

import matplotlib

matplotlib.use("Agg")
