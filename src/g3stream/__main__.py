"""``python -m g3stream``: the same as the ``g3stream`` command."""

from __future__ import annotations

import sys

from g3stream.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
