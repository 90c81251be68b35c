"""Hand-checked encodings of RFC 9420 wire structures, and the rules the codec enforces.

Every expected byte string here was worked out by hand from the RFC's struct
definitions (lengths are the §2.1.2 one-byte varints for short vectors).
"""

from __future__ import annotations

import json

import pytest

from conftest import MLS_VECTORS
from letterlock.codec import DecodeError, Struct
from letterlock.mls.commit import Commit, ProposalOrRef
from letterlock.mls.constants import (
    ContentType,
    LeafNodeSource,
    ProposalType,
    PSKType,
    ResumptionPSKUsage,
    SenderType,
    WireFormat,
)
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    FramedContentTBS,
    PublicMessage,
    Sender,
)
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_package import KeyPackage, check_key_package_shape
from letterlock.mls.leaf_node import (
    Capabilities,
    LeafNode,
    LeafNodeTBS,
    Lifetime,
    check_leaf_node_source,
)
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.private_message import PrivateMessage, PrivateMessageContent, SenderData
from letterlock.mls.proposals import CustomProposal, PreSharedKeyID, Proposal, Remove
from letterlock.mls.tree_nodes import ParentNode, RatchetTree, check_ratchet_tree_shape

h = bytes.fromhex


def leaf(source: LeafNodeSource = LeafNodeSource.UPDATE, signature: bytes = b"S") -> LeafNode:
    return LeafNode(
        encryption_key=b"E", signature_key=b"K", credential=Credential.basic(b"a"),
        capabilities=Capabilities(versions=(1,)), leaf_node_source=source,
        lifetime=Lifetime(0, 1) if source == LeafNodeSource.KEY_PACKAGE else None,
        parent_hash=b"P" if source == LeafNodeSource.COMMIT else None, signature=signature,
    )


def member_application() -> PublicMessage:
    content = FramedContent(b"g", 1, Sender.member(2), b"", b"hi")
    return PublicMessage(content, FramedContentAuthData(b"s"), membership_tag=b"m")


# ---------------------------------------------------------------- golden bytes

@pytest.mark.parametrize(("value", "expected"), [
    (Remove(5), "00000005"),
    (Proposal(Remove(5)), "0003" "00000005"),
    (Sender.member(3), "01" "00000003"),
    (Sender.external(7), "02" "00000007"),
    (Sender.new_member_proposal(), "03"),
    (Sender.new_member_commit(), "04"),
    (Credential.basic(b"alice"), "0001" "05616c696365"),
    (Credential.x509([b"\xaa", b"\xbb\xcc"]), "0002" "05" "01aa" "02bbcc"),
    (Credential.other(0x1234, b"xyz"), "1234" "0378797a"),
    (PreSharedKeyID.external(b"abc", b"no"), "01" "03616263" "026e6f"),
    (PreSharedKeyID.resumption(ResumptionPSKUsage.BRANCH, b"gi", 7, b""),
     "02" "03" "026769" "0000000000000007" "00"),
    (ProposalOrRef(reference=b"\x01\x02"), "02" "020102"),
    (Commit(), "00" "00"),
    (SenderData(1, 2, b"\x00\x01\x02\x03"), "00000001" "00000002" "00010203"),
    (MLSMessage(member_application()),
     "0001" "0001" "0167" "0000000000000001" "0100000002" "00" "01" "026869" "0173" "016d"),
])
def test_golden_encoding(value: Struct, expected: str) -> None:
    encoded = value.to_bytes()
    assert encoded.hex() == expected
    assert type(value).from_bytes(encoded) == value


def test_leaf_node_tbs_appends_group_and_index_for_update_and_commit() -> None:
    for source in (LeafNodeSource.UPDATE, LeafNodeSource.COMMIT):
        node = leaf(source, signature=b"SIG")
        tbs = node.tbs(b"grp", 9)
        # The leaf minus its signature (03 534947), then group_id<V> and uint32 leaf_index.
        assert tbs.to_bytes() == node.to_bytes()[:-4] + h("03677270" "00000009")
        assert LeafNodeTBS.from_bytes(tbs.to_bytes()) == tbs
        assert tbs.signed(b"SIG") == node
    kp_leaf = leaf(LeafNodeSource.KEY_PACKAGE)
    assert kp_leaf.tbs().to_bytes() == kp_leaf.to_bytes()[:-2]
    with pytest.raises(UsageError):
        kp_leaf.tbs(b"grp", 9)
    with pytest.raises(UsageError):
        leaf(LeafNodeSource.UPDATE).tbs()


def test_unknown_proposal_type_is_kept_opaque() -> None:
    decoded = Proposal.from_bytes(h("0a0a" "02abcd"))
    assert decoded == Proposal(CustomProposal(0x0A0A, b"\xab\xcd"))
    assert decoded.proposal_type == 0x0A0A
    assert decoded.to_bytes() == h("0a0a02abcd")
    with pytest.raises(UsageError):
        CustomProposal(ProposalType.ADD, b"")


def test_unknown_credential_type_is_kept_opaque() -> None:
    decoded = Credential.from_bytes(h("abcd" "03010203"))
    assert decoded.credential_type == 0xABCD
    assert decoded.content == b"\x01\x02\x03"
    with pytest.raises(DecodeError):  # x509 contents are parsed: 02 promises 2 bytes
        Credential.from_bytes(h("0002" "02" "0201"))


# ---------------------------------------------------------------- strict decoding

def test_truncated_and_trailing_bytes_are_rejected() -> None:
    with pytest.raises(DecodeError, match="truncated"):
        Remove.from_bytes(h("000005"))
    with pytest.raises(DecodeError, match="trailing"):
        Remove.from_bytes(h("0000000500"))
    encoded = MLSMessage(member_application()).to_bytes()
    for cut in range(len(encoded)):
        with pytest.raises(DecodeError):
            MLSMessage.from_bytes(encoded[:cut])
    with pytest.raises(DecodeError, match="trailing"):
        MLSMessage.from_bytes(encoded + b"\x00")


def test_every_prefix_of_a_vector_welcome_is_rejected() -> None:
    path = MLS_VECTORS / "messages.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    case = json.loads(path.read_text())[0]
    for field in ("mls_welcome", "mls_group_info", "mls_key_package", "private_message"):
        encoded = h(case[field])
        assert MLSMessage.from_bytes(encoded).to_bytes() == encoded
        for cut in range(len(encoded)):
            with pytest.raises(DecodeError):
                MLSMessage.from_bytes(encoded[:cut])


@pytest.mark.parametrize(("decode", "data", "field"), [
    (MLSMessage.from_bytes, "0001" "0006", "wire_format"),
    (MLSMessage.from_bytes, "0001" "0000", "wire_format"),
    (MLSMessage.from_bytes, "0002" "0001", "version"),
    (Sender.from_bytes, "05", "sender_type"),
    (Sender.from_bytes, "00", "sender_type"),
    (PreSharedKeyID.from_bytes, "03", "psktype"),
    (PreSharedKeyID.from_bytes, "02" "04" "00" "0000000000000000" "00", "usage"),
    (ProposalOrRef.from_bytes, "03", "ProposalOrRef type"),
    (RatchetTree.from_bytes, "02" "01" "03", "node_type"),
    (PrivateMessage.from_bytes, "00" "0000000000000000" "04" "00" "00" "00", "content_type"),
    (FramedContent.from_bytes, "00" "0000000000000000" "03" "00" "00" "00", "content_type"),
    (LeafNode.from_bytes, "00" "00" "000100" "00" "00" "00" "00" "00" "04", "leaf_node_source"),
])
def test_unknown_tags_name_their_field(decode: object, data: str, field: str) -> None:
    assert callable(decode)
    with pytest.raises(DecodeError, match=field):
        decode(h(data))


def test_private_message_content_padding_must_be_zero() -> None:
    content = PrivateMessageContent(b"hi", FramedContentAuthData(b"s"), padding=3)
    assert content.to_bytes() == h("026869" "0173" "000000")
    assert PrivateMessageContent.from_bytes(h("0268690173000000"), ContentType.APPLICATION) \
        == content
    with pytest.raises(DecodeError, match="padding") as info:
        PrivateMessageContent.from_bytes(h("0268690173000100"), ContentType.APPLICATION)
    assert info.value.position == 6
    # A commit's auth data carries a confirmation tag; padding follows it.
    commit = PrivateMessageContent(Commit(), FramedContentAuthData(b"s", b"t"), padding=1)
    assert commit.to_bytes() == h("0000" "0173" "0174" "00")
    assert PrivateMessageContent.from_bytes(commit.to_bytes(), ContentType.COMMIT) == commit


def test_membership_tag_presence_follows_the_sender() -> None:
    external = FramedContent(b"g", 1, Sender.external(0), b"", b"hi")
    message = PublicMessage(external, FramedContentAuthData(b"s"))
    assert PublicMessage.from_bytes(message.to_bytes()) == message
    # §6.2: only member senders carry a membership tag, on the wire and in values.
    with pytest.raises(DecodeError, match="trailing"):
        PublicMessage.from_bytes(message.to_bytes() + h("016d"))
    member_bytes = member_application().to_bytes()
    with pytest.raises(DecodeError, match="truncated"):
        PublicMessage.from_bytes(member_bytes[:-2])
    with pytest.raises(UsageError):
        PublicMessage(external, FramedContentAuthData(b"s"), membership_tag=b"m")
    with pytest.raises(UsageError):
        PublicMessage(member_application().content, FramedContentAuthData(b"s"))


def test_confirmation_tag_follows_the_content_type() -> None:
    commit = FramedContent(b"g", 1, Sender.member(0), b"", Commit())
    with pytest.raises(UsageError):
        AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, commit, FramedContentAuthData(b"s"))
    app = FramedContent(b"g", 1, Sender.member(0), b"", b"x")
    with pytest.raises(UsageError):
        AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, app, FramedContentAuthData(b"s", b"t"))


def test_framed_content_tbs_context_follows_the_sender() -> None:
    context = GroupContext(1, 1, b"g", 0, b"", b"")
    proposal = FramedContent(b"g", 0, Sender.new_member_proposal(), b"", b"x")
    tbs = FramedContentTBS(WireFormat.PUBLIC_MESSAGE, proposal)
    assert tbs.to_bytes()[:4] == h("00010001")  # version mls10, wire format
    assert FramedContentTBS.from_bytes(tbs.to_bytes()) == tbs
    with pytest.raises(UsageError):
        FramedContentTBS(WireFormat.PUBLIC_MESSAGE, proposal, context)
    member = FramedContent(b"g", 0, Sender.member(1), b"", b"x")
    with pytest.raises(UsageError):
        FramedContentTBS(WireFormat.PUBLIC_MESSAGE, member)


def test_inconsistent_values_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        Sender(SenderType.MEMBER)
    with pytest.raises(UsageError):
        Sender(SenderType.NEW_MEMBER_COMMIT, sender_index=1)
    with pytest.raises(UsageError):
        PreSharedKeyID(psktype=PSKType.EXTERNAL, psk_id=b"", psk_nonce=b"", psk_epoch=1)
    with pytest.raises(UsageError):
        PreSharedKeyID(psktype=PSKType.RESUMPTION, psk_nonce=b"")
    with pytest.raises(UsageError):
        ProposalOrRef()
    with pytest.raises(UsageError):
        ProposalOrRef(proposal=Proposal(Remove(1)), reference=b"")
    with pytest.raises(UsageError):
        Credential(1, content=b"x")
    with pytest.raises(UsageError):
        LeafNode(encryption_key=b"", signature_key=b"", credential=Credential.basic(b""),
                 capabilities=Capabilities(), leaf_node_source=LeafNodeSource.KEY_PACKAGE,
                 signature=b"")
    with pytest.raises(UsageError):
        PrivateMessageContent(b"x", FramedContentAuthData(b"s"), padding=-1)


# ---------------------------------------------------------------- semantic checks

def test_ratchet_tree_shape() -> None:
    good = RatchetTree((leaf(), None, leaf()))
    check_ratchet_tree_shape(good)
    assert RatchetTree.from_bytes(good.to_bytes()) == good
    trailing_blank = RatchetTree((leaf(), None, leaf(), None, None))
    # The codec still decodes a tree with a blank last node; the check rejects it.
    assert RatchetTree.from_bytes(trailing_blank.to_bytes()) == trailing_blank
    for bad in (trailing_blank, RatchetTree(()),
                RatchetTree((leaf(), leaf(), leaf())),
                RatchetTree((ParentNode(b"k", b""),))):
        with pytest.raises(InvalidMessageError, match=r"12\.4\.3\.3"):
            check_ratchet_tree_shape(bad)


def test_key_package_shape() -> None:
    kp = KeyPackage(1, 1, b"I", leaf(LeafNodeSource.KEY_PACKAGE), (), b"sig")
    check_key_package_shape(kp)
    bad_source = KeyPackage(1, 1, b"I", leaf(LeafNodeSource.UPDATE), (), b"sig")
    same_key = KeyPackage(1, 1, b"E", leaf(LeafNodeSource.KEY_PACKAGE), (), b"sig")
    bad_version = KeyPackage(2, 1, b"I", leaf(LeafNodeSource.KEY_PACKAGE), (), b"sig")
    for bad in (bad_source, same_key, bad_version):
        with pytest.raises(InvalidMessageError, match=r"10\.1"):
            check_key_package_shape(bad)
    with pytest.raises(InvalidMessageError, match=r"12\.4\.2"):
        check_leaf_node_source(leaf(), LeafNodeSource.COMMIT, "RFC 9420 §12.4.2")
