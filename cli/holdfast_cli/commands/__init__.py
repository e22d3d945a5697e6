"""The ``holdfast`` subcommands, one module each: its ``DESCRIPTION``, ``add_arguments(parser)``
(which sets ``run``), and ``run(args) -> exit code``."""
