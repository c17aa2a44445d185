"""spt3g's serialization, byte for byte: frame objects to blobs and back.

This layer knows cereal's portable-binary archives (FORMAT.md sections 7
and 8) and nothing of frames, files or sockets:

* ``classes``: the table of spt3g class names (the leaf; ``register``);
* ``archive``: ``ArchiveReader`` / ``ArchiveWriter`` and the protocol a
  frame object implements for them;
* ``frameobject``: ``G3FrameObject``, the root class, and
  ``OpaqueFrameObject`` for classes this package cannot decode;
* ``blobs``: a whole blob to one object and back (``decode_object``,
  ``encode_object``), with a fixed-layout short cut for single values;
* ``budget``: what decoding a frame may cost (decoded bytes, nesting depth);
* ``keyorder``: libstdc++'s hash-table order, which fixes the order of a
  frame's entries on disk;
* ``crc``: the frame checksum.

It imports nothing of g3stream but ``errors`` and ``_types``.
"""

from .archive import ArchiveReader, ArchiveWriter, Serializable
from .blobs import (
    decode_object,
    encode_object,
    encode_object_bytes,
    peek_class_name,
    register_fixed_blob,
    scalar_blob_prefix,
)
from .budget import (
    DEFAULT_MAX_DECODED_SIZE,
    DEFAULT_MAX_NESTING_DEPTH,
    DecodeBudget,
    DecodeLimits,
)
from .classes import lookup_class, register, registered_names
from .frameobject import G3FrameObject, OpaqueFrameObject

__all__ = [
    "DEFAULT_MAX_DECODED_SIZE",
    "DEFAULT_MAX_NESTING_DEPTH",
    "DecodeBudget",
    "DecodeLimits",
    "ArchiveReader",
    "ArchiveWriter",
    "Serializable",
    "G3FrameObject",
    "OpaqueFrameObject",
    "decode_object",
    "encode_object",
    "encode_object_bytes",
    "lookup_class",
    "peek_class_name",
    "register",
    "register_fixed_blob",
    "registered_names",
    "scalar_blob_prefix",
]
