"""Request and response bodies. Binary values travel as standard base64 (RFC 4648 §4)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

__all__ = [
    "AcceptedOut",
    "AccountCreated",
    "AccountEntriesOut",
    "AckRequest",
    "AckResponse",
    "AddDeviceRequest",
    "ChallengeRequest",
    "ClaimResponse",
    "ClaimedKeyPackageOut",
    "CommitOut",
    "CommitRequest",
    "CommitsOut",
    "CreateGroupRequest",
    "DeviceList",
    "DeviceOut",
    "ErrorOut",
    "GapOut",
    "GroupCreatedOut",
    "GroupMemberOut",
    "GroupMessageRequest",
    "GroupOut",
    "LogEntriesOut",
    "LogEntryOut",
    "MailboxEntryOut",
    "MailboxPage",
    "NonceOut",
    "NonceRequest",
    "PoolStatusOut",
    "ProvenEntryOut",
    "RegisterRequest",
    "RemoveDeviceRequest",
    "SendRequest",
    "SendResponse",
    "TokenOut",
    "TokenRequest",
    "TransparencyKeyOut",
    "TransparencyProofOut",
    "TreeHeadOut",
    "UploadKeyPackages",
]


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
    return value


B64 = Annotated[
    bytes,
    BeforeValidator(_decode),
    PlainSerializer(lambda v: base64.b64encode(v).decode(), return_type=str),
    WithJsonSchema({"type": "string", "format": "byte"}),
]
DeviceId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
# Integers the database stores as signed 64-bit, and MLS cipher suite ids (uint16): the
# bounds turn an out-of-range number into a 422 rather than a database error.
MAX_SEQ = 2**63 - 1
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
SuiteId = Annotated[int, Field(ge=0, le=0xFFFF)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorOut(BaseModel):
    error: str
    detail: str


class RegisterRequest(_In):
    handle: str
    signature_key: B64
    cipher_suite: SuiteId
    signature: B64 = Field(description="Ed25519 over the 'letterlock v1 register' statement")
    invite: str | None = None


class AccountCreated(BaseModel):
    device_id: str
    handle: str
    log_public_key: B64 = Field(description="the key transparency log's Ed25519 public key "
                                            "(raw), for the client to pin")


class DeviceOut(BaseModel):
    device_id: str
    signature_key: B64
    cipher_suite: int
    created_at: int


class DeviceList(BaseModel):
    handle: str
    devices: list[DeviceOut]


class NonceRequest(_In):
    purpose: Literal["add-device", "remove-device"]


class NonceOut(BaseModel):
    nonce: B64
    expires_at: int


class AddDeviceRequest(_In):
    signature_key: B64
    cipher_suite: SuiteId
    approver_device_id: DeviceId
    nonce: B64
    approval: B64 = Field(description="the approver's signature over the add-device statement")
    possession: B64 = Field(description="the new device's signature over the same statement")


class RemoveDeviceRequest(_In):
    nonce: B64
    signature: B64 = Field(description="the acting device's signature, remove-device statement")


class ChallengeRequest(_In):
    device_id: DeviceId


class TokenRequest(_In):
    device_id: DeviceId
    nonce: B64
    signature: B64 = Field(description="Ed25519 over the 'letterlock v1 auth' statement")


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: int


class UploadKeyPackages(_In):
    key_packages: list[B64] = Field(default_factory=list)
    last_resort: B64 | None = None


class PoolStatusOut(BaseModel):
    remaining: int
    low: bool


class TransparencyProofOut(BaseModel):
    index: int
    proven: B64 = Field(description="ProvenEntry: the device's entry, opening, inclusion proof")
    tree_head: B64 = Field(description="SignedTreeHead the inclusion proof is against")


class ClaimedKeyPackageOut(BaseModel):
    device_id: str
    key_package: B64
    last_resort: bool
    remaining: int
    low: bool
    transparency: TransparencyProofOut | None = Field(
        description="the device's current key transparency entry (null: not logged)")


class ClaimResponse(BaseModel):
    handle: str
    key_packages: list[ClaimedKeyPackageOut]


class SendRequest(_In):
    client_msg_id: str = Field(min_length=1, max_length=64)
    recipients: list[DeviceId] = Field(min_length=1, max_length=1000)
    payload: B64


class SendResponse(BaseModel):
    duplicate: bool
    seqs: dict[str, int]


class MailboxEntryOut(BaseModel):
    seq: int
    sender_device_id: str | None
    payload: B64
    created_at: int


class GapOut(BaseModel):
    first: int
    last: int


class MailboxPage(BaseModel):
    entries: list[MailboxEntryOut]
    gap: GapOut | None


class AckRequest(_In):
    seq: Seq


class AckResponse(BaseModel):
    acked: int


# ---- groups ----------------------------------------------------------------------------

class CreateGroupRequest(_In):
    group_info: B64
    ratchet_tree: B64 | None = None


class GroupCreatedOut(BaseModel):
    group_id: str
    epoch: int


class CommitRequest(_In):
    client_msg_id: str = Field(min_length=1, max_length=64)
    commit: B64
    welcome: B64 | None = None


class GroupMessageRequest(_In):
    client_msg_id: str = Field(min_length=1, max_length=64)
    message: B64


class AcceptedOut(BaseModel):
    seq: int
    epoch: int
    duplicate: bool


class CommitOut(BaseModel):
    epoch: int
    seq: int
    message: B64


class CommitsOut(BaseModel):
    commits: list[CommitOut]


class GroupMemberOut(BaseModel):
    leaf: int
    device_id: str
    handle: str


class GroupOut(BaseModel):
    group_id: str
    epoch: int
    members: list[GroupMemberOut]


# ---- key transparency (encodings are letterlock.transparency's to_bytes()) -------------

class TransparencyKeyOut(BaseModel):
    public_key: B64 = Field(description="the log's raw Ed25519 public key")
    log_id: B64 = Field(description="SHA-256 of the public key")


class TreeHeadOut(BaseModel):
    tree_head: B64 = Field(description="SignedTreeHead for the log's current size")
    consistency: B64 | None = Field(
        description="ConsistencyProof from size `since` to the head's (null unless "
                    "0 < since < size)")


class ProvenEntryOut(BaseModel):
    index: int
    proven: B64 = Field(description="ProvenEntry: entry, handle opening, inclusion proof")


class AccountEntriesOut(BaseModel):
    tree_head: B64
    entries: list[ProvenEntryOut]


class LogEntryOut(BaseModel):
    index: int
    entry: B64 = Field(description="LogEntry (no opening)")


class LogEntriesOut(BaseModel):
    tree_head: B64
    entries: list[LogEntryOut]
