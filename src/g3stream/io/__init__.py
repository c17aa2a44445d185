"""Files and sources: compression, the scheme table, G3Reader, G3Writer, G3MultiFileWriter, G3File.

A thin layer over the sans-I/O codec: byte sources and sinks for files,
and the spt3g modules that drive the frame decoder and encoder with them.
"""

from __future__ import annotations

from ..errors import CompressedDataError, ReaderSeekError
from .file_source import FileSource
from .g3file import G3File
from .multifile import G3MultiFileWriter
from .reader import G3Reader
from .schemes import is_stream_url, open_source, register_scheme
from .source import ByteSource, SourceState, SourceStatistics, StreamRestart
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
    "register_scheme",
    "open_source",
    "is_stream_url",
    "SourceState",
    "SourceStatistics",
]
