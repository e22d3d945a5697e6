"""The old import path of :mod:`holdfast_cli.local.api`, kept for the test suites outside
tests/cli that still import it; the two names are one module."""

import sys

from holdfast_cli.local import api

sys.modules[__name__] = api
