"""Property tests of every RFC 9420 wire structure (§5.3 to §12).

- Round trip: random valid values of every struct encode and decode back to an equal
  value, and re-encode to the same bytes.
- Strictness: random and mutated bytes fed to every decoder either raise
  :class:`letterlock.codec.DecodeError` or decode to a value that re-encodes to exactly
  those bytes. No other exception may escape (IndexError, enum ValueError, ...).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letterlock.codec import DecodeError, EncodeError, Reader, Struct, decode, encode, encode_varint
from letterlock.mls._wire import pull_uint16s, pull_uint32s
from letterlock.mls.commit import Commit, ProposalOrRef
from letterlock.mls.constants import (
    ContentType,
    CredentialType,
    LeafNodeSource,
    ProposalType,
    ResumptionPSKUsage,
    SenderType,
    WireFormat,
)
from letterlock.mls.credentials import Certificate, Credential
from letterlock.mls.errors import UsageError
from letterlock.mls.extensions import Extension
from letterlock.mls.framing import (
    AuthenticatedContent,
    AuthenticatedContentTBM,
    ConfirmedTranscriptHashInput,
    ContentBody,
    FramedContent,
    FramedContentAuthData,
    FramedContentTBS,
    InterimTranscriptHashInput,
    PublicMessage,
    Sender,
    content_type_of,
)
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_package import KeyPackage, KeyPackageTBS
from letterlock.mls.leaf_node import Capabilities, LeafNode, LeafNodeTBS, Lifetime
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.private_message import (
    PrivateContentAAD,
    PrivateMessage,
    PrivateMessageContent,
    SenderData,
    SenderDataAAD,
    private_message_aads,
)
from letterlock.mls.proposals import (
    Add,
    CustomProposal,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ReInit,
    Remove,
    Update,
)
from letterlock.mls.tree_nodes import (
    HPKECiphertext,
    Node,
    ParentNode,
    RatchetTree,
    UpdatePath,
    UpdatePathNode,
)
from letterlock.mls.welcome import (
    EncryptedGroupSecrets,
    GroupInfo,
    GroupInfoTBS,
    GroupSecrets,
    PathSecret,
    Welcome,
)

# ---------------------------------------------------------------- strategies

blob = st.binary(max_size=6)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)
# Fewer, smaller elements inside the deeply nested structures keep the run short.
few = {"max_size": 2}


def tuples(strategy: st.SearchStrategy[Any], max_size: int = 2) -> st.SearchStrategy[Any]:
    return st.lists(strategy, max_size=max_size).map(tuple)


extensions = tuples(st.builds(Extension, u16, blob))
certificates = st.builds(Certificate, blob)
credentials = st.one_of(
    st.builds(Credential.basic, blob),
    st.builds(lambda certs: Credential(CredentialType.X509, certificates=certs),
              tuples(certificates)),
    st.builds(Credential.other, u16.filter(lambda t: t not in (1, 2)), blob),
)
capabilities = st.builds(Capabilities, tuples(u16), tuples(u16), tuples(u16), tuples(u16),
                         tuples(u16))
lifetimes = st.builds(Lifetime, u64, u64)


@st.composite
def leaf_nodes(draw: st.DrawFn, source: LeafNodeSource | None = None) -> LeafNode:
    src = draw(st.sampled_from(LeafNodeSource)) if source is None else source
    return LeafNode(
        encryption_key=draw(blob), signature_key=draw(blob), credential=draw(credentials),
        capabilities=draw(capabilities), leaf_node_source=src,
        lifetime=draw(lifetimes) if src == LeafNodeSource.KEY_PACKAGE else None,
        parent_hash=draw(blob) if src == LeafNodeSource.COMMIT else None,
        extensions=draw(extensions), signature=draw(blob),
    )


@st.composite
def leaf_node_tbss(draw: st.DrawFn) -> LeafNodeTBS:
    leaf = draw(leaf_nodes())
    if leaf.leaf_node_source == LeafNodeSource.KEY_PACKAGE:
        return leaf.tbs()
    return leaf.tbs(draw(blob), draw(u32))


key_package_tbss = st.builds(KeyPackageTBS, u16, u16, blob, leaf_nodes(), extensions)
key_packages = st.builds(lambda tbs, sig: tbs.signed(sig), key_package_tbss, blob)
parent_nodes = st.builds(ParentNode, blob, blob, tuples(u32))
tree_entries = st.one_of(st.none(), leaf_nodes(), parent_nodes)
ratchet_trees = st.builds(RatchetTree, tuples(tree_entries, max_size=4))
nodes = st.builds(Node, st.one_of(leaf_nodes(), parent_nodes))
hpke_ciphertexts = st.builds(HPKECiphertext, blob, blob)
update_path_nodes = st.builds(UpdatePathNode, blob, tuples(hpke_ciphertexts))
update_paths = st.builds(UpdatePath, leaf_nodes(LeafNodeSource.COMMIT), tuples(update_path_nodes))

psk_ids = st.one_of(
    st.builds(PreSharedKeyID.external, blob, blob),
    st.builds(PreSharedKeyID.resumption, st.sampled_from(ResumptionPSKUsage), blob, u64, blob),
)
proposal_bodies = st.one_of(
    st.builds(Add, key_packages),
    st.builds(Update, leaf_nodes()),
    st.builds(Remove, u32),
    st.builds(PreSharedKey, psk_ids),
    st.builds(ReInit, blob, u16, u16, extensions),
    st.builds(ExternalInit, blob),
    st.builds(GroupContextExtensions, extensions),
    st.builds(CustomProposal, u16.filter(lambda t: t not in tuple(ProposalType)), blob),
)
proposals = st.builds(Proposal, proposal_bodies)
proposal_or_refs = st.one_of(st.builds(lambda p: ProposalOrRef(proposal=p), proposals),
                             st.builds(lambda r: ProposalOrRef(reference=r), blob))
commits = st.builds(Commit, tuples(proposal_or_refs), st.none() | update_paths)

group_contexts = st.builds(GroupContext, u16, u16, blob, u64, blob, blob, extensions)
group_info_tbss = st.builds(GroupInfoTBS, group_contexts, extensions, blob, u32)
group_infos = st.builds(lambda tbs, sig: tbs.signed(sig), group_info_tbss, blob)
path_secrets = st.builds(PathSecret, blob)
group_secrets = st.builds(GroupSecrets, blob, st.none() | path_secrets, tuples(psk_ids))
encrypted_group_secrets = st.builds(EncryptedGroupSecrets, blob, hpke_ciphertexts)
welcomes = st.builds(Welcome, u16, tuples(encrypted_group_secrets), blob)

senders = st.one_of(
    st.builds(Sender.member, u32), st.builds(Sender.external, u32),
    st.just(Sender.new_member_proposal()), st.just(Sender.new_member_commit()),
)
content_bodies: st.SearchStrategy[ContentBody] = st.one_of(blob, proposals, commits)
framed_contents = st.builds(FramedContent, blob, u64, senders, blob, content_bodies)
wire_formats = st.sampled_from(WireFormat)


def auth_for(body: ContentBody) -> st.SearchStrategy[FramedContentAuthData]:
    """Auth data whose confirmation tag matches the content type of ``body``."""
    tag = blob if content_type_of(body) == ContentType.COMMIT else st.none()
    return st.builds(FramedContentAuthData, blob, tag)


@st.composite
def authenticated_contents(draw: st.DrawFn) -> AuthenticatedContent:
    content = draw(framed_contents)
    return AuthenticatedContent(draw(wire_formats), content, draw(auth_for(content.body)))


@st.composite
def framed_content_tbss(draw: st.DrawFn) -> FramedContentTBS:
    content = draw(framed_contents)
    in_group = content.sender.sender_type in (SenderType.MEMBER, SenderType.NEW_MEMBER_COMMIT)
    return FramedContentTBS(draw(wire_formats), content,
                            draw(group_contexts) if in_group else None)


@st.composite
def authenticated_content_tbms(draw: st.DrawFn) -> AuthenticatedContentTBM:
    tbs = draw(framed_content_tbss())
    return AuthenticatedContentTBM(tbs, draw(auth_for(tbs.content.body)))


@st.composite
def public_messages(draw: st.DrawFn) -> PublicMessage:
    content = draw(framed_contents)
    member = content.sender.sender_type == SenderType.MEMBER
    return PublicMessage(content, draw(auth_for(content.body)), draw(blob) if member else None)


@st.composite
def private_message_contents(draw: st.DrawFn) -> PrivateMessageContent:
    body = draw(content_bodies)
    return PrivateMessageContent(body, draw(auth_for(body)), draw(st.integers(0, 8)))


content_types = st.sampled_from(ContentType)
private_messages = st.builds(PrivateMessage, blob, u64, content_types, blob, blob, blob)
sender_datas = st.builds(SenderData, u32, u32, st.binary(min_size=4, max_size=4))
mls_messages = st.builds(MLSMessage, st.one_of(public_messages(), private_messages, welcomes,
                                               group_infos, key_packages))

STRUCTS: list[tuple[type[Struct], st.SearchStrategy[Any]]] = [
    (Certificate, certificates),
    (Credential, credentials),
    (Capabilities, capabilities),
    (Lifetime, lifetimes),
    (LeafNode, leaf_nodes()),
    (LeafNodeTBS, leaf_node_tbss()),
    (KeyPackageTBS, key_package_tbss),
    (KeyPackage, key_packages),
    (ParentNode, parent_nodes),
    (Node, nodes),
    (RatchetTree, ratchet_trees),
    (HPKECiphertext, hpke_ciphertexts),
    (UpdatePathNode, update_path_nodes),
    (UpdatePath, update_paths),
    (PreSharedKeyID, psk_ids),
    (Add, st.builds(Add, key_packages)),
    (Update, st.builds(Update, leaf_nodes())),
    (Remove, st.builds(Remove, u32)),
    (PreSharedKey, st.builds(PreSharedKey, psk_ids)),
    (ReInit, st.builds(ReInit, blob, u16, u16, extensions)),
    (ExternalInit, st.builds(ExternalInit, blob)),
    (GroupContextExtensions, st.builds(GroupContextExtensions, extensions)),
    (Proposal, proposals),
    (ProposalOrRef, proposal_or_refs),
    (Commit, commits),
    (GroupInfoTBS, group_info_tbss),
    (GroupInfo, group_infos),
    (PathSecret, path_secrets),
    (GroupSecrets, group_secrets),
    (EncryptedGroupSecrets, encrypted_group_secrets),
    (Welcome, welcomes),
    (Sender, senders),
    (FramedContent, framed_contents),
    (FramedContentTBS, framed_content_tbss()),
    (AuthenticatedContent, authenticated_contents()),
    (AuthenticatedContentTBM, authenticated_content_tbms()),
    (PublicMessage, public_messages()),
    (ConfirmedTranscriptHashInput,
     st.builds(ConfirmedTranscriptHashInput, wire_formats, framed_contents, blob)),
    (InterimTranscriptHashInput, st.builds(InterimTranscriptHashInput, blob)),
    (PrivateMessage, private_messages),
    (SenderData, sender_datas),
    (SenderDataAAD, st.builds(SenderDataAAD, blob, u64, content_types)),
    (PrivateContentAAD, st.builds(PrivateContentAAD, blob, u64, content_types, blob)),
    (MLSMessage, mls_messages),
]

# Decoders that need the content type from outside, one entry per content type.
Decoder = Callable[[bytes], Any]


def _auth_decoder(ct: ContentType) -> Decoder:
    return lambda data: FramedContentAuthData.from_bytes(data, ct)


def _pmc_decoder(ct: ContentType) -> Decoder:
    return lambda data: PrivateMessageContent.from_bytes(data, ct)


CONTEXT_DECODERS: list[tuple[str, Decoder]] = [
    *((f"FramedContentAuthData[{ct.name}]", _auth_decoder(ct)) for ct in ContentType),
    *((f"PrivateMessageContent[{ct.name}]", _pmc_decoder(ct)) for ct in ContentType),
]
DECODERS: list[tuple[str, Decoder]] = [
    *((cls.__name__, cls.from_bytes) for cls, _ in STRUCTS),
    *CONTEXT_DECODERS,
]

quick = settings(max_examples=100, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- round trip


def fresh_bytes(value: Any) -> bytes:
    """``value`` encoded from its fields. Decoded tree nodes and GroupContexts keep the
    bytes they were read from (CachedStruct); a deep copy drops those caches, so this
    really re-encodes and the tests below check that decoding is canonical."""
    return bytes(copy.deepcopy(value).to_bytes())


@pytest.mark.parametrize(("cls", "strategy"), STRUCTS, ids=[c.__name__ for c, _ in STRUCTS])
@quick
@given(data=st.data())
def test_round_trip(cls: type[Struct], strategy: st.SearchStrategy[Any], data: st.DataObject
                    ) -> None:
    value = data.draw(strategy)
    assert isinstance(value, cls)
    encoded = value.to_bytes()
    decoded = cls.from_bytes(encoded)
    assert decoded == value
    assert decoded.to_bytes() == encoded
    assert fresh_bytes(decoded) == encoded
    # Structs with a direct to_bytes (the per-message AADs, SenderData) agree with push.
    assert encode(value.push) == encoded


@quick
@given(content=private_message_contents())
def test_private_message_content_round_trip(content: PrivateMessageContent) -> None:
    encoded = content.to_bytes()
    decoded = PrivateMessageContent.from_bytes(encoded, content.content_type)
    assert decoded == content
    assert decoded.to_bytes() == encoded
    # The direct encoder of application content agrees with push.
    assert encode(content.push) == encoded
    assert PrivateMessageContent.encode(content.body, content.auth, content.padding) == encoded


@quick
@given(tbs=framed_content_tbss(), sender_data=sender_datas, message=private_messages,
       body=st.one_of(public_messages(), private_messages, welcomes))
def test_encoders_without_a_value_give_its_bytes(
    tbs: FramedContentTBS, sender_data: SenderData, message: PrivateMessage,
    body: PublicMessage | PrivateMessage | Welcome,
) -> None:
    # The per-message paths encode FramedContentTBS, SenderData, the AADs and the
    # MLSMessage without building the values: the same bytes, and the same UsageError.
    assert FramedContentTBS.encode(tbs.wire_format, tbs.content, tbs.context) \
        == encode(tbs.push)
    other_context = None if tbs.context is not None else GroupContext(1, 1, b"", 0, b"", b"")
    with pytest.raises(UsageError):
        FramedContentTBS.encode(tbs.wire_format, tbs.content, other_context)
    assert SenderData.encode(sender_data.leaf_index, sender_data.generation,
                             sender_data.reuse_guard) == encode(sender_data.push)
    assert private_message_aads(message.group_id, message.epoch, message.content_type,
                                message.authenticated_data) == (
        encode(message.sender_data_aad.push), encode(message.content_aad.push))
    assert MLSMessage.encode(body) == encode(MLSMessage(body).push)


@quick
@given(data=st.binary(min_size=12, max_size=12))
def test_sender_data_reads_any_twelve_bytes_as_the_reader_does(data: bytes) -> None:
    assert SenderData.from_bytes(data) == decode(data, SenderData.pull)


def test_direct_encoders_refuse_what_push_refuses() -> None:
    # Out-of-range values take the Writer path, which raises EncodeError.
    member = Sender.member(0)
    for value in (FramedContent(b"g", 2**64, member, b"", b"data"),
                  FramedContent(b"g", 0, Sender.member(2**32), b"", b"data"),
                  PrivateMessage(b"g", 2**64, ContentType.APPLICATION, b"", b"", b""),
                  SenderDataAAD(b"g", 2**64, ContentType.APPLICATION),
                  PrivateContentAAD(b"g", -1, ContentType.APPLICATION, b""),
                  SenderData(2**32, 0, b"1234"), SenderData(0, 0, b"123")):
        with pytest.raises(EncodeError):
            value.to_bytes()
    with pytest.raises(EncodeError):
        private_message_aads(b"g", 2**64, ContentType.APPLICATION, b"")
    tbs = FramedContentTBS(WireFormat.PRIVATE_MESSAGE,
                           FramedContent(b"g", 2**64, member, b"", b"data"),
                           GroupContext(1, 1, b"g", 0, b"", b""))
    with pytest.raises(EncodeError):
        tbs.to_bytes()
    with pytest.raises(UsageError):
        PrivateMessageContent.encode(b"data", FramedContentAuthData(b"sig", b"tag"))


@quick
@given(data=st.data())
def test_auth_data_round_trip(data: st.DataObject) -> None:
    body = data.draw(content_bodies)
    auth = data.draw(auth_for(body))
    assert FramedContentAuthData.from_bytes(auth.to_bytes(), content_type_of(body)) == auth


# ---------------------------------------------------------------- strictness


def assert_strict(decode: Decoder, data: bytes) -> None:
    """``decode`` raises DecodeError, or returns a value that re-encodes to ``data``."""
    try:
        value = decode(data)
    except DecodeError:
        return
    assert value.to_bytes() == data
    assert fresh_bytes(value) == data


@pytest.mark.parametrize(("name", "decode"), DECODERS, ids=[n for n, _ in DECODERS])
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=64))
def test_random_bytes_raise_only_decode_error(name: str, decode: Decoder, data: bytes) -> None:
    assert_strict(decode, data)


@st.composite
def mutated(draw: st.DrawFn, encoded: bytes) -> bytes:
    """``encoded`` with one byte changed, inserted, or removed, or cut short."""
    if not encoded:
        return draw(st.binary(min_size=1, max_size=4))
    i = draw(st.integers(0, len(encoded) - 1))
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "append"]))
    if kind == "flip":
        return encoded[:i] + bytes([draw(u8.filter(lambda b: b != encoded[i]))]) + encoded[i + 1:]
    if kind == "insert":
        return encoded[:i] + bytes([draw(u8)]) + encoded[i:]
    if kind == "delete":
        return encoded[:i] + encoded[i + 1:]
    if kind == "truncate":
        return encoded[:i]
    return encoded + draw(st.binary(min_size=1, max_size=3))


@pytest.mark.parametrize(("cls", "strategy"), STRUCTS, ids=[c.__name__ for c, _ in STRUCTS])
@quick
@given(data=st.data())
def test_mutated_encodings_raise_only_decode_error(
    cls: type[Struct], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    encoded = data.draw(strategy).to_bytes()
    assert_strict(cls.from_bytes, data.draw(mutated(encoded)))


@pytest.mark.parametrize(("cls", "strategy"), STRUCTS, ids=[c.__name__ for c, _ in STRUCTS])
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), mask=st.integers(1, 0xFF))
def test_every_byte_changed_raises_only_decode_error(
    cls: type[Struct], strategy: st.SearchStrategy[Any], data: st.DataObject, mask: int
) -> None:
    # One random mutation rarely hits the few bytes that matter (a presence byte, a
    # tag); sweeping every position does, at a cost linear in the length.
    encoded = data.draw(strategy).to_bytes()
    for i, byte in enumerate(encoded):
        assert_strict(cls.from_bytes, encoded[:i] + bytes([byte ^ mask]) + encoded[i + 1:])


@quick
@given(data=st.data())
def test_mutated_private_content_raises_only_decode_error(data: st.DataObject) -> None:
    content = data.draw(private_message_contents())
    bad = data.draw(mutated(content.to_bytes()))
    for ct in ContentType:
        assert_strict(_pmc_decoder(ct), bad)


# ---------------------------------------------------------------- fast paths


@quick
@given(leaf=leaf_nodes(), group_id=blob, index=u32, decoded=st.booleans())
def test_leaf_tbs_bytes_is_the_encoded_tbs(leaf: LeafNode, group_id: bytes, index: int,
                                            decoded: bool) -> None:
    # tbs_bytes cuts the TBS out of the leaf's cached encoding; it must be the TBS.
    if decoded:
        leaf = LeafNode.from_bytes(leaf.to_bytes())
    placed = leaf.leaf_node_source != LeafNodeSource.KEY_PACKAGE
    args = (group_id, index) if placed else (None, None)
    assert leaf.tbs_bytes(*args) == leaf.tbs(*args).to_bytes()
    wrong = (None, None) if placed else (group_id, index)
    with pytest.raises(UsageError):
        leaf.tbs_bytes(*wrong)


@quick
@given(values=st.lists(u16, max_size=5), cut=st.integers(0, 12))
def test_int_vectors_read_as_pull_vector_reads_them(values: list[int], cut: int) -> None:
    # pull_uint16s / pull_uint32s unpack a whole block at once; any input, cut short or
    # not a whole number of integers, gives pull_vector's result or its very error.
    for width, fast, slow in ((2, pull_uint16s, Reader.pull_uint16),
                              (4, pull_uint32s, Reader.pull_uint32)):
        body = b"".join(v.to_bytes(width, "big") for v in values)
        for data in (encode_varint(len(body)) + body, encode_varint(len(body) + 1) + body + b"\1",
                     (encode_varint(len(body)) + body)[:cut]):
            outcomes: list[tuple[object, int]] = []
            for read in (fast, lambda r, slow=slow: tuple(r.pull_vector(slow))):
                reader = Reader(data)
                try:
                    outcomes.append((read(reader), reader.position))
                except DecodeError as exc:
                    outcomes.append((str(exc), exc.position))
            assert outcomes[0] == outcomes[1]
