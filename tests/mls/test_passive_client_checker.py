"""The passive-client checker on a scenario of our own, in the vector format (the
held-back passive-client-random.json has this shape with 200 epochs): a passive member
joins with an out-of-band tree and an external PSK, then follows epochs of proposals
and commits, comparing epoch authenticators."""

from __future__ import annotations

from typing import Any

from mls_group_kit import World, client, kp_bytes

from letterlock.mls._kat import passive_client
from letterlock.mls.group import GroupConfig, WireFormatPolicy


def _scenario(policy: WireFormatPolicy) -> dict[str, Any]:
    world = World(GroupConfig(wire_format_policy=policy, ratchet_tree_in_welcome=False))
    world.create("a")
    world.add("a", ["b", "c"])
    a = world.groups["a"]
    for g in world.groups.values():
        g.add_external_psk(b"ext", b"external secret")
    passive = client("passive")
    bundle = passive.key_package()
    result = a.commit(add=[kp_bytes(bundle)], psks=[b"ext"])
    world.deliver("a", result.commit_message)
    a.merge_pending_commit()
    assert result.welcome is not None
    tree, initial = a.ratchet_tree, a.epoch_authenticator
    epochs = []
    names = ["a", "b", "c"]
    for step in range(12):
        proposer = world.groups[names[step % 3]]
        committer_name = names[(step + 1) % 3]
        committer = world.groups[committer_name]
        proposals = []
        if step % 4 == 1:
            proposals.append(proposer.propose_update())
        elif step % 4 == 2:
            proposals.append(proposer.propose_psk(b"ext"))
        elif step % 4 == 3:
            proposals.append(proposer.propose_add(kp_bytes(client(f"x{step}").key_package())))
        for p in proposals:
            world.deliver(names[step % 3], p)
        commit = committer.commit().commit_message
        world.deliver(committer_name, commit)
        committer.merge_pending_commit()
        epochs.append({"proposals": [p.hex() for p in proposals], "commit": commit.hex(),
                       "epoch_authenticator": committer.epoch_authenticator.hex()})
    return {
        "cipher_suite": 1,
        "external_psks": [{"psk_id": b"ext".hex(), "psk": b"external secret".hex()}],
        "key_package": kp_bytes(bundle).hex(),
        "signature_priv": passive.signer.hex(),
        "encryption_priv": bundle.encryption_private_key.hex(),
        "init_priv": bundle.init_private_key.hex(),
        "welcome": result.welcome.hex(),
        "ratchet_tree": tree.hex(),
        "initial_epoch_authenticator": initial.hex(),
        "epochs": epochs,
    }


def test_checker_follows_our_own_scenario() -> None:
    for policy in WireFormatPolicy:
        case = _scenario(policy)
        passive_client.check(case)
