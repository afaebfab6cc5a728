"""One module per ``track`` subcommand: ``configure(parser)`` and ``run(args) -> int``."""
