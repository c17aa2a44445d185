"""Files: compression by suffix, G3Reader, G3Writer, G3MultiFileWriter and G3File.

A thin layer over the sans-I/O codec: byte sources and sinks for files,
and the spt3g modules that drive the frame decoder and encoder with them.
"""

from __future__ import annotations

from .compression import CompressedDataError
from .file_source import FileSource
from .g3file import G3File
from .multifile import G3MultiFileWriter
from .reader import G3Reader, ReaderSeekError
from .source import ByteSource, StreamRestart
from .writer import G3Writer

__all__ = [
    "G3Reader",
    "G3Writer",
    "G3MultiFileWriter",
    "G3File",
    "ReaderSeekError",
    "CompressedDataError",
    "FileSource",
    "ByteSource",
    "StreamRestart",
]
