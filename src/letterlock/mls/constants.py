"""Wire code points of RFC 9420 (§17 IANA registries) as enums."""

from __future__ import annotations

from enum import IntEnum


class ProtocolVersion(IntEnum):
    """§6: ``enum { reserved(0), mls10(1), (65535) } ProtocolVersion``."""

    MLS10 = 1


class CipherSuiteId(IntEnum):
    """§17.1 MLS cipher suites."""

    MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 = 0x0001
    MLS_128_DHKEMP256_AES128GCM_SHA256_P256 = 0x0002
    MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 = 0x0003
    MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448 = 0x0004
    MLS_256_DHKEMP521_AES256GCM_SHA512_P521 = 0x0005
    MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448 = 0x0006
    MLS_256_DHKEMP384_AES256GCM_SHA384_P384 = 0x0007


class WireFormat(IntEnum):
    """§6 / §17.2 ``WireFormat``."""

    PUBLIC_MESSAGE = 0x0001
    PRIVATE_MESSAGE = 0x0002
    WELCOME = 0x0003
    GROUP_INFO = 0x0004
    KEY_PACKAGE = 0x0005


class ContentType(IntEnum):
    """§6 ``ContentType``."""

    APPLICATION = 1
    PROPOSAL = 2
    COMMIT = 3


class SenderType(IntEnum):
    """§6 ``SenderType``."""

    MEMBER = 1
    EXTERNAL = 2
    NEW_MEMBER_PROPOSAL = 3
    NEW_MEMBER_COMMIT = 4


class ProposalType(IntEnum):
    """§17.4 proposal types."""

    ADD = 0x0001
    UPDATE = 0x0002
    REMOVE = 0x0003
    PSK = 0x0004
    REINIT = 0x0005
    EXTERNAL_INIT = 0x0006
    GROUP_CONTEXT_EXTENSIONS = 0x0007


class ExtensionType(IntEnum):
    """§17.3 extension types (plus the last-resort KeyPackage extension)."""

    APPLICATION_ID = 0x0001
    RATCHET_TREE = 0x0002
    REQUIRED_CAPABILITIES = 0x0003
    EXTERNAL_PUB = 0x0004
    EXTERNAL_SENDERS = 0x0005
    # draft-ietf-mls-extensions: last_resort KeyPackage extension.
    LAST_RESORT = 0x000A


class CredentialType(IntEnum):
    """§17.5 credential types."""

    BASIC = 0x0001
    X509 = 0x0002


class LeafNodeSource(IntEnum):
    """§7.2 ``LeafNodeSource``."""

    KEY_PACKAGE = 1
    UPDATE = 2
    COMMIT = 3


class NodeType(IntEnum):
    """§7.8 ``NodeType``."""

    LEAF = 1
    PARENT = 2


class PSKType(IntEnum):
    """§8.4 ``PSKType``."""

    EXTERNAL = 1
    RESUMPTION = 2


class ResumptionPSKUsage(IntEnum):
    """§8.4 ``ResumptionPSKUsage``."""

    APPLICATION = 1
    REINIT = 2
    BRANCH = 3


class ProposalOrRefType(IntEnum):
    """§12.4 ``ProposalOrRefType``."""

    PROPOSAL = 1
    REFERENCE = 2
