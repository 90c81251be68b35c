"""passive-client-*.json: a member that only receives (RFC 9420 §12.4.2, §12.4.3.1).

Each case gives our KeyPackage with its private keys, a Welcome (and maybe the tree
out of band), external PSKs, the epoch authenticator after joining, and then epochs of
proposals and a commit, each with the epoch authenticator it must lead to. Passing
means: the join and every epoch reach exactly those authenticators.
"""

from __future__ import annotations

from letterlock.crypto import SeededRandom, cipher_suite

from ..group import Group, GroupConfig
from ..key_package import KeyPackage
from ..key_packages import KeyPackageBundle
from ..leaf_node import LeafNode
from ..mls_message import MLSMessage
from ..secret_tree import RatchetConfig
from . import Case, expect, unhex


def _accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """The vectors' credentials are basic ones we have no directory for: accept all."""


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    key_package = MLSMessage.from_bytes(unhex(case["key_package"])).body
    assert isinstance(key_package, KeyPackage)
    bundle = KeyPackageBundle(key_package, unhex(case["init_priv"]),
                              unhex(case["encryption_priv"]))
    psks = {unhex(p["psk_id"]): unhex(p["psk"]) for p in case["external_psks"]}
    tree = case.get("ratchet_tree")
    # Generous retention: the random scenario may inject old resumption PSKs.
    config = GroupConfig(resumption_psk_epochs=1000,
                         ratchet=RatchetConfig(out_of_order_tolerance=5,
                                               max_forward_distance=1000))
    group = Group.join(unhex(case["welcome"]), bundle, unhex(case["signature_priv"]),
                       rng=SeededRandom(b"passive client"), credential_validator=_accept,
                       ratchet_tree=unhex(tree) if tree else None, psks=psks,
                       config=config)
    expect("cipher_suite", suite.suite_id, group.suite.suite_id)
    expect("initial_epoch_authenticator", unhex(case["initial_epoch_authenticator"]),
           group.epoch_authenticator)
    for number, epoch in enumerate(case["epochs"]):
        for proposal in epoch["proposals"]:
            group.process(unhex(proposal))
        group.process(unhex(epoch["commit"]))
        expect(f"epochs[{number}].epoch_authenticator", unhex(epoch["epoch_authenticator"]),
               group.epoch_authenticator)
