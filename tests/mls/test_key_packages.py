"""Creating KeyPackages, and the checks every received KeyPackage goes through."""

from __future__ import annotations

import dataclasses

import pytest

from letterlock.codec import DecodeError
from letterlock.crypto import VerifyError
from letterlock.crypto.random import SeededRandom
from letterlock.crypto.suite import SUPPORTED_SUITES, CipherSuite, cipher_suite
from letterlock.mls.constants import ExtensionType, LeafNodeSource
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.key_packages import (
    KeyPackageBundle,
    KeyPackageLifetimeError,
    KeyPackageSuiteError,
    create_key_package,
    is_last_resort,
    key_package_ref,
    verify_key_package,
)
from letterlock.mls.leaf_node import Lifetime

LIFETIME = Lifetime(1_000, 2_000)


def _make(suite_id: int = 1, *, last_resort: bool = False,
          seed: bytes = b"kp") -> tuple[CipherSuite, bytes, KeyPackageBundle]:
    suite = cipher_suite(suite_id)
    rng = SeededRandom(seed)
    sig_priv, _ = suite.generate_signature_key_pair(rng)
    bundle = create_key_package(suite, credential=Credential.basic(b"@alice/1"),
                                signature_private_key=sig_priv, lifetime=LIFETIME, rng=rng,
                                last_resort=last_resort)
    return suite, sig_priv, bundle


@pytest.mark.parametrize("suite_id", SUPPORTED_SUITES)
def test_created_key_package_verifies_and_round_trips(suite_id: int) -> None:
    suite, sig_priv, bundle = _make(suite_id)
    kp = KeyPackage.from_bytes(bundle.key_package.to_bytes())
    verify_key_package(suite, kp, now=1_500)
    assert kp.leaf_node.leaf_node_source == LeafNodeSource.KEY_PACKAGE
    assert kp.leaf_node.signature_key == suite.signature_public_key(sig_priv)
    assert suite.hpke.public_key(bundle.init_private_key) == kp.init_key
    assert suite.hpke.public_key(bundle.encryption_private_key) == kp.leaf_node.encryption_key
    assert len(key_package_ref(suite, kp)) == suite.n_h


def test_deterministic_under_seeded_randomness() -> None:
    assert _make(seed=b"x")[2].key_package == _make(seed=b"x")[2].key_package
    assert _make(seed=b"x")[2].key_package != _make(seed=b"y")[2].key_package


def test_last_resort_extension() -> None:
    assert not is_last_resort(_make()[2].key_package)
    kp = _make(last_resort=True)[2].key_package
    assert is_last_resort(kp)
    assert [e.extension_type for e in kp.extensions] == [ExtensionType.LAST_RESORT]
    verify_key_package(cipher_suite(1), kp)


def test_lifetime_is_enforced_when_now_is_given() -> None:
    suite, _, bundle = _make()
    with pytest.raises(KeyPackageLifetimeError):
        verify_key_package(suite, bundle.key_package, now=2_001)
    with pytest.raises(KeyPackageLifetimeError):
        verify_key_package(suite, bundle.key_package, now=999)
    with pytest.raises(UsageError):
        create_key_package(suite, credential=Credential.basic(b"a"),
                           signature_private_key=_make()[1], lifetime=Lifetime(5, 4),
                           rng=SeededRandom(b"r"))


def test_wrong_suite_is_refused() -> None:
    _, _, bundle = _make(1)
    with pytest.raises(KeyPackageSuiteError):
        verify_key_package(cipher_suite(3), bundle.key_package)


def test_tampered_key_package_fails_signature() -> None:
    suite, _, bundle = _make()
    other = _make(seed=b"other")[2].key_package
    swapped = dataclasses.replace(bundle.key_package, init_key=other.init_key)
    with pytest.raises(VerifyError):
        verify_key_package(suite, swapped)
    leaf = dataclasses.replace(bundle.key_package.leaf_node,
                               credential=Credential.basic(b"@mallory/1"))
    with pytest.raises(VerifyError):
        verify_key_package(suite, dataclasses.replace(bundle.key_package, leaf_node=leaf))


def test_init_key_equal_to_encryption_key_is_refused() -> None:
    suite, _, bundle = _make()
    same = dataclasses.replace(bundle.key_package,
                               init_key=bundle.key_package.leaf_node.encryption_key)
    with pytest.raises(InvalidMessageError):
        verify_key_package(suite, same)


def test_every_flipped_byte_is_rejected() -> None:
    suite, _, bundle = _make()
    wire = bundle.key_package.to_bytes()
    for i in range(len(wire)):
        tampered = wire[:i] + bytes([wire[i] ^ 0x01]) + wire[i + 1:]
        with pytest.raises((DecodeError, InvalidMessageError, VerifyError)):
            verify_key_package(suite, KeyPackage.from_bytes(tampered))
