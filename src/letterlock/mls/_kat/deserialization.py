"""deserialization.json: the variable-length vector prefix of RFC 9420 §2.1.2."""

from __future__ import annotations

from letterlock.codec import Reader, decode, encode_varint

from . import Case, expect, unhex


def check(case: Case) -> None:
    header = unhex(case["vlbytes_header"])
    expect("length (decoded)", case["length"], decode(header, Reader.pull_varint))
    expect("vlbytes_header (encoded)", header, encode_varint(int(case["length"])))
