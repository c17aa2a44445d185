"""G3NetworkReceiver: spt3g's name for reading a ``tcp://`` stream in a pipeline."""

from __future__ import annotations

from typing import Any

from g3stream.io.reader import G3Reader
from g3stream.pipeline.decorators import pipesegment_nodoc


@pipesegment_nodoc
def G3NetworkReceiver(pipe: Any, hostname: str = "localhost", port: int = 5978) -> None:
    """Read frames from a sender at ``hostname``:``port``, as the first module of ``pipe``.

    Kept for scripts written against spt3g's old receiver; the same as
    ``pipe.Add(G3Reader, filename=f"tcp://{hostname}:{port}")``.
    """
    host = f"[{hostname}]" if ":" in hostname else hostname
    pipe.Add(G3Reader, filename=f"tcp://{host}:{port}")
