"""TLS presentation-language encoding, as RFC 9420 §2.1 profiles it.

Public surface:

- :class:`Reader` / :class:`Writer`: typed ``pull_*`` / ``push_*`` pairs for fixed-width
  integers, fixed and variable-length opaque data, vectors, optionals and blocks.
- :class:`Struct`: base class of wire structures (``push``/``pull``, ``to_bytes``/``from_bytes``);
  :class:`CachedStruct` for frozen values whose encoding is made once.
- :func:`decode` / :func:`encode`: one value from/to exactly these bytes.
- :func:`fast_init`: a faster ``__init__`` for frozen, slotted dataclasses built often.

Errors::

    CodecError
    ├── DecodeError   received bytes are not a canonical encoding (peer's fault)
    └── EncodeError   a value cannot be encoded (caller's fault)

This package imports nothing else of Letterlock's.
"""

from ._buffer import VARINT_MAX, Reader, Writer, decode, encode, encode_varint
from ._errors import CodecError, DecodeError, EncodeError
from ._frozen import fast_init
from ._struct import CachedStruct, Struct

__all__ = [
    "VARINT_MAX",
    "CachedStruct",
    "CodecError",
    "DecodeError",
    "EncodeError",
    "Reader",
    "Struct",
    "Writer",
    "decode",
    "encode",
    "encode_varint",
    "fast_init",
]
