"""The old import path of :mod:`holdfast_cli.local.template`, kept for the test suites outside
tests/cli that still import it; the two names are one module."""

import sys

from holdfast_cli.local import template

sys.modules[__name__] = template
