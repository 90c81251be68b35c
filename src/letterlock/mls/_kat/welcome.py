"""welcome.json: join by Welcome with a given KeyPackage (RFC 9420 §12.4.3.1).

Each case gives our KeyPackage and its init private key, the Welcome (both as
MLSMessages) and the GroupInfo signer's public key. Passing means: our entry is found,
the GroupSecrets and GroupInfo decrypt, the signature and the confirmation tag verify.
"""

from __future__ import annotations

from ..key_package import KeyPackage
from ..mls_message import MLSMessage
from ..welcome import Welcome
from ..welcome_processing import open_welcome
from . import Case, expect, unhex


def check(case: Case) -> None:
    welcome = MLSMessage.from_bytes(unhex(case["welcome"])).body
    key_package = MLSMessage.from_bytes(unhex(case["key_package"])).body
    expect("welcome wire format", "Welcome", type(welcome).__name__)
    expect("key_package wire format", "KeyPackage", type(key_package).__name__)
    assert isinstance(welcome, Welcome) and isinstance(key_package, KeyPackage)
    expect("cipher_suite", case["cipher_suite"], welcome.cipher_suite)
    opened = open_welcome(welcome, key_package, unhex(case["init_priv"]))
    joined = opened.verify(unhex(case["signer_pub"]))
    expect("group_info cipher_suite", case["cipher_suite"],
           joined.group_context.cipher_suite)
