"""Signed statements: golden bytes, and a signature for one purpose fits no other."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from letterlock.protocol import statements as s


def test_golden_register_statement() -> None:
    data = s.register_statement("@al", b"\x01\x02", 1)
    label = b"letterlock v1 register"
    assert data == (bytes([len(label)]) + label + b"\x03@al" + b"\x02\x01\x02"
                    + b"\x08" + (1).to_bytes(8, "big"))


@given(st.text(max_size=20), st.binary(max_size=40), st.integers(0, 2**64 - 1),
       st.binary(max_size=40))
def test_purposes_never_collide(handle: str, key: bytes, number: int, nonce: bytes) -> None:
    encoded = {
        s.register_statement(handle, key, number),
        s.auth_statement(handle, nonce),
        s.add_device_statement(handle, key, number, nonce, number),
        s.remove_device_statement(handle, handle, nonce, number),
    }
    assert len(encoded) == 4  # the label comes first, so no two purposes share bytes
