"""The old import path of :mod:`holdfast_cli.local.dev_server`, kept for the test suites outside
tests/cli that still import it; the two names are one module."""

import sys

from holdfast_cli.local import dev_server

sys.modules[__name__] = dev_server
