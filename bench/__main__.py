"""``python -m bench [--json] [--samples N] [--concurrency C] [--only NAME[,NAME]] …``"""

from bench.cli import main

raise SystemExit(main())
