"""In-memory plumbing for group tests: clients, KeyPackages, and a toy delivery service
that fans a handshake message out to every other member and checks they agree."""

from __future__ import annotations

from dataclasses import dataclass, field

from letterlock.crypto import CipherSuite, SeededRandom, cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.group import Event, Group, GroupConfig
from letterlock.mls.key_packages import KeyPackageBundle, create_key_package
from letterlock.mls.leaf_node import LeafNode, Lifetime
from letterlock.mls.mls_message import MLSMessage

SUITE: CipherSuite = cipher_suite(1)
# The post-quantum X-Wing suite (0x0053, draft-ietf-mls-pq-ciphersuites): ML-KEM-768 +
# X25519 in every HPKE operation (UpdatePath secrets, Welcome secrets, external init).
# X-Wing encapsulation draws pyca's own randomness (see letterlock.crypto._xwing), so
# runs under it are not byte-for-byte reproducible: check agreement, never fixed values.
XWING_SUITE: CipherSuite = cipher_suite(0x0053)
# The suites group scenarios run under, by test id.
SUITES: dict[str, CipherSuite] = {"suite1": SUITE, "xwing": XWING_SUITE}
FOREVER = Lifetime(0, 2**64 - 1)
GROUP_ID = b"test group"


def accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """Credential validator for tests: every basic credential is fine."""


@dataclass
class Client:
    name: str
    signer: bytes
    credential: Credential
    rng: SeededRandom
    suite: CipherSuite = SUITE

    def key_package(self) -> KeyPackageBundle:
        return create_key_package(self.suite, credential=self.credential,
                                  signature_private_key=self.signer, lifetime=FOREVER,
                                  rng=self.rng)


def client(name: str, suite: CipherSuite = SUITE) -> Client:
    rng = SeededRandom(name.encode())
    signer, _ = suite.generate_signature_key_pair(rng)
    return Client(name, signer, Credential.basic(name.encode()), rng, suite)


def kp_bytes(bundle: KeyPackageBundle) -> bytes:
    return MLSMessage(bundle.key_package).to_bytes()


@dataclass
class World:
    """Members by name; ``deliver`` hands a message to every member but the sender."""

    config: GroupConfig = field(default_factory=GroupConfig)
    groups: dict[str, Group] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    suite: CipherSuite = SUITE

    def create(self, name: str, **kwargs: object) -> Group:
        c = client(name, self.suite)
        self.clients[name] = c
        group = Group.create(self.suite, group_id=GROUP_ID, signer=c.signer,
                             credential=c.credential, rng=c.rng, credential_validator=accept,
                             config=self.config, **kwargs)  # type: ignore[arg-type]
        self.groups[name] = group
        return group

    def deliver(self, sender: str, message: bytes) -> dict[str, list[Event]]:
        return {name: g.process(message) for name, g in self.groups.items()
                if name != sender}

    def add(self, committer: str, names: list[str]) -> None:
        """``committer`` adds new clients in one commit; everyone processes it."""
        bundles = {}
        for name in names:
            self.clients[name] = client(name, self.suite)
            bundles[name] = self.clients[name].key_package()
        group = self.groups[committer]
        result = group.commit(add=[kp_bytes(b) for b in bundles.values()])
        self.deliver(committer, result.commit_message)
        group.merge_pending_commit()
        assert result.welcome is not None
        for name, bundle in bundles.items():
            c = self.clients[name]
            self.groups[name] = Group.join(result.welcome, bundle, c.signer, rng=c.rng,
                                           credential_validator=accept, config=self.config,
                                           ratchet_tree=group.ratchet_tree)

    def commit(self, committer: str, **kwargs: object) -> None:
        group = self.groups[committer]
        result = group.commit(**kwargs)  # type: ignore[arg-type]
        events = self.deliver(committer, result.commit_message)
        group.merge_pending_commit()
        for name, evs in events.items():
            if any(type(e).__name__ == "RemovedFromGroup" for e in evs):
                del self.groups[name]

    def assert_agree(self) -> None:
        groups = list(self.groups.values())
        first = groups[0]
        for g in groups[1:]:
            assert g.epoch == first.epoch
            assert g.epoch_authenticator == first.epoch_authenticator
            assert g.roster() == first.roster()
            assert g.export_secret("test", b"", 16) == first.export_secret("test", b"", 16)
