"""The old import path of :mod:`holdfast_cli.local.dynamodb_local`, kept because tests and
scripts import it and ``python -m holdfast_cli.dynamodb_local`` still runs an engine."""

import sys

from holdfast_cli.local import dynamodb_local
from holdfast_cli.local.dynamodb_local import main

if __name__ == "__main__":
    sys.exit(main())
else:
    sys.modules[__name__] = dynamodb_local
