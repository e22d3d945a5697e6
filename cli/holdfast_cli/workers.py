"""The old import path of :mod:`holdfast_cli.local.process_map`, kept for the test suites outside
tests/cli that still import it; the two names are one module."""

import sys

from holdfast_cli.local import process_map

sys.modules[__name__] = process_map
