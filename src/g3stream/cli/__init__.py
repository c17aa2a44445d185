"""The ``g3stream`` command: dump, verify, serve, record, relay, stats and demo.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``
and ``run(args) -> int``; :mod:`g3stream.cli.main` wires them together.
"""
