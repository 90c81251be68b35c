"""Typed extensions (RFC 9420 §13) and capability negotiation (§7.2, §7.3, §11.1).

Golden bytes for each body, hypothesis round trips, random bytes that may only raise
DecodeError, and each negotiation rule broken once.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterlock.codec import DecodeError
from letterlock.mls.constants import (
    CredentialType,
    ExtensionType,
    LeafNodeSource,
    ProposalType,
)
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import UsageError
from letterlock.mls.extension_types import (
    DEFAULT_EXTENSION_TYPES,
    DEFAULT_PROPOSAL_TYPES,
    ApplicationId,
    ExtensionBody,
    ExternalPub,
    ExternalSender,
    ExternalSenders,
    LastResort,
    RequiredCapabilities,
    UnsupportedCapabilityError,
    check_credential_compatibility,
    check_group_extensions_supported,
    check_leaf_capabilities,
    check_leaf_lists_what_it_uses,
    check_required_capabilities,
    extension_type_of,
    get_extension,
    parse_extension,
    supports_credential,
    supports_extension,
    supports_proposal,
    to_extension,
)
from letterlock.mls.extensions import Extension
from letterlock.mls.leaf_node import Capabilities, LeafNode, Lifetime
from letterlock.mls.tree_nodes import RatchetTree

PROPERTY = settings(max_examples=100, deadline=None)

uint16 = st.integers(0, 0xFFFF)
uint16s = st.lists(uint16, max_size=8).map(tuple)
credentials = st.one_of(
    st.binary(max_size=16).map(Credential.basic),
    st.lists(st.binary(max_size=8), max_size=3).map(Credential.x509),
    st.builds(Credential.other, st.integers(3, 0xFFFF), st.binary(max_size=8)),
)
bodies: st.SearchStrategy[ExtensionBody] = st.one_of(
    st.builds(ApplicationId, st.binary(max_size=32)),
    st.builds(RequiredCapabilities, uint16s, uint16s, uint16s),
    st.builds(ExternalPub, st.binary(max_size=70)),
    st.lists(st.builds(ExternalSender, st.binary(max_size=40), credentials), max_size=4)
    .map(lambda s: ExternalSenders(tuple(s))),
    st.just(LastResort()),
    st.just(RatchetTree((None, None))),
)
BODY_TYPES: list[type[ExtensionBody]] = [ApplicationId, RatchetTree, RequiredCapabilities,
                                         ExternalPub, ExternalSenders, LastResort]


# ---- golden bytes ---------------------------------------------------------------------


def test_golden_encodings() -> None:
    assert to_extension(ApplicationId(b"ab")) == Extension(0x0001, b"\x02ab")
    assert to_extension(RequiredCapabilities((0x000A,), (), (1, 2))) == Extension(
        0x0003, bytes.fromhex("02000a" "00" "0400010002"))
    assert to_extension(ExternalPub(b"\x04")) == Extension(0x0004, b"\x01\x04")
    sender = ExternalSender(b"k", Credential.basic(b"id"))
    assert to_extension(ExternalSenders((sender,))) == Extension(
        0x0005, bytes.fromhex("07" "016b" "0001" "026964"))
    assert to_extension(LastResort()) == Extension(0x000A, b"")
    assert to_extension(RatchetTree(())) == Extension(0x0002, b"\x00")


def test_type_registry() -> None:
    assert [extension_type_of(t) for t in BODY_TYPES] == [
        ExtensionType.APPLICATION_ID, ExtensionType.RATCHET_TREE,
        ExtensionType.REQUIRED_CAPABILITIES, ExtensionType.EXTERNAL_PUB,
        ExtensionType.EXTERNAL_SENDERS, ExtensionType.LAST_RESORT]
    with pytest.raises(UsageError):
        extension_type_of(Extension)  # type: ignore[arg-type]
    assert parse_extension(Extension(0xF0F0, b"anything")) is None


def test_last_resort_body_must_be_empty() -> None:
    with pytest.raises(DecodeError):
        parse_extension(Extension(ExtensionType.LAST_RESORT, b"\x00"))


def test_get_extension() -> None:
    extensions = (to_extension(ApplicationId(b"x")), Extension(0xF0F0, b""),
                  to_extension(ExternalPub(b"pk")))
    assert get_extension(extensions, ExternalPub) == ExternalPub(b"pk")
    assert get_extension(extensions, ApplicationId) == ApplicationId(b"x")
    assert get_extension(extensions, LastResort) is None
    with pytest.raises(DecodeError):
        get_extension((Extension(ExtensionType.EXTERNAL_PUB, b"\x05"),), ExternalPub)


# ---- properties -----------------------------------------------------------------------


@given(body=bodies)
@PROPERTY
def test_round_trip(body: ExtensionBody) -> None:
    extension = to_extension(body)
    assert parse_extension(extension) == body
    assert Extension.from_bytes(extension.to_bytes()) == extension


@given(kind=st.sampled_from(BODY_TYPES), data=st.binary(max_size=64))
@PROPERTY
def test_random_bytes_raise_only_decode_error(kind: type[ExtensionBody], data: bytes) -> None:
    extension = Extension(extension_type_of(kind), data)
    try:
        body = parse_extension(extension)
    except DecodeError:
        return
    # Whatever decodes is canonical: it re-encodes to the very same bytes.
    assert body is not None
    assert to_extension(body) == extension


# ---- negotiation ----------------------------------------------------------------------


def _leaf(capabilities: Capabilities, *, credential: Credential | None = None,
          extensions: tuple[Extension, ...] = ()) -> LeafNode:
    return LeafNode(encryption_key=b"e", signature_key=b"s",
                    credential=credential or Credential.basic(b"alice"),
                    capabilities=capabilities, leaf_node_source=LeafNodeSource.KEY_PACKAGE,
                    lifetime=Lifetime(0, 1), extensions=extensions, signature=b"sig")


BASIC = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(CredentialType.BASIC,))


def test_default_types_are_exactly_rfc9420s() -> None:
    assert frozenset(range(1, 8)) == DEFAULT_PROPOSAL_TYPES
    assert frozenset(range(1, 6)) == DEFAULT_EXTENSION_TYPES
    for t in range(1, 6):
        assert supports_extension(BASIC, t)
    assert not supports_extension(BASIC, ExtensionType.LAST_RESORT)
    assert supports_extension(Capabilities(extensions=(0x000A,)), ExtensionType.LAST_RESORT)
    assert supports_proposal(BASIC, ProposalType.GROUP_CONTEXT_EXTENSIONS)
    assert not supports_proposal(BASIC, 0x0008)
    # §11.1: "Note that this is not true for credential types."
    assert not supports_credential(Capabilities(), CredentialType.BASIC)


def test_required_capabilities() -> None:
    check_required_capabilities(BASIC, RequiredCapabilities(
        (ExtensionType.EXTERNAL_SENDERS,), (ProposalType.ADD,), (CredentialType.BASIC,)))
    for required in (RequiredCapabilities(extension_types=(0x000A,)),
                     RequiredCapabilities(proposal_types=(0x0008,)),
                     RequiredCapabilities(credential_types=(CredentialType.X509,))):
        with pytest.raises(UnsupportedCapabilityError) as info:
            check_required_capabilities(BASIC, required)
        assert info.value.rule == "RFC 9420 §11.1"


def test_group_extensions_must_be_supported() -> None:
    required = to_extension(RequiredCapabilities(extension_types=(0xF000,)))
    with_f000 = Capabilities(extensions=(0xF000,), credentials=(1,))
    check_group_extensions_supported(with_f000, (required, Extension(0xF000, b"")))
    with pytest.raises(UnsupportedCapabilityError):
        check_group_extensions_supported(BASIC, (Extension(0xF000, b""),))
    with pytest.raises(UnsupportedCapabilityError):
        check_group_extensions_supported(BASIC, (required,))
    # Default extensions need no listing.
    check_group_extensions_supported(BASIC, (to_extension(ExternalSenders(())),))


def test_leaf_lists_what_it_uses() -> None:
    check_leaf_lists_what_it_uses(_leaf(BASIC, extensions=(to_extension(ApplicationId(b"a")),)))
    with pytest.raises(UnsupportedCapabilityError):
        check_leaf_lists_what_it_uses(_leaf(BASIC, extensions=(to_extension(LastResort()),)))
    with pytest.raises(UnsupportedCapabilityError):
        check_leaf_lists_what_it_uses(_leaf(BASIC, credential=Credential.x509([b"c"])))


def test_credential_compatibility() -> None:
    both = Capabilities(credentials=(CredentialType.BASIC, CredentialType.X509))
    x509_member = _leaf(both, credential=Credential.x509([b"c"]))
    check_credential_compatibility(_leaf(both), [x509_member])
    # The new leaf cannot verify an x509 member...
    with pytest.raises(UnsupportedCapabilityError):
        check_credential_compatibility(_leaf(BASIC), [x509_member])
    # ...or a basic-only member cannot verify the new leaf's x509 credential.
    with pytest.raises(UnsupportedCapabilityError):
        check_credential_compatibility(_leaf(both, credential=Credential.x509([b"c"])),
                                       [_leaf(BASIC)])
    check_leaf_capabilities(_leaf(both), (), [x509_member])
    with pytest.raises(UnsupportedCapabilityError):
        check_leaf_capabilities(_leaf(BASIC), (Extension(0xF000, b""),))
