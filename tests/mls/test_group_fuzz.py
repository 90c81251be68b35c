"""A hypothesis state machine over a small group: random commits, proposals, messages,
replays and tampering. Honest members never desynchronise, and bad input raises only
the documented errors (InvalidMessageError, DecodeError, CryptoError) and changes
nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from mls_group_kit import World

from letterlock.codec import DecodeError
from letterlock.crypto import CryptoError
from letterlock.mls.errors import InvalidMessageError
from letterlock.mls.group import ApplicationMessage, Group

DOCUMENTED = (InvalidMessageError, DecodeError, CryptoError)


class GroupMachine(RuleBasedStateMachine):
    world: World
    sent: list[tuple[str, bytes]]
    joined: int

    @initialize()
    def start(self) -> None:
        self.world = World()
        self.world.create("m0")
        self.world.add("m0", ["m1", "m2", "m3"])
        self.sent = []
        self.joined = 4

    def _pick(self, i: int) -> tuple[str, Group]:
        names = sorted(self.world.groups)
        name = names[i % len(names)]
        return name, self.world.groups[name]

    @rule(i=st.integers(0, 7), data=st.binary(max_size=40))
    def send(self, i: int, data: bytes) -> None:
        name, group = self._pick(i)
        message = group.encrypt(data)
        for events in self.world.deliver(name, message).values():
            [event] = events
            assert isinstance(event, ApplicationMessage) and event.data == data
        self.sent.append((name, message))

    @rule(i=st.integers(0, 7), j=st.integers(0, 7),
          kind=st.sampled_from(["update", "add", "remove"]))
    def commit(self, i: int, j: int, kind: str) -> None:
        name, group = self._pick(i)
        if kind == "add" and len(self.world.groups) < 6:
            self.world.add(name, [f"m{self.joined}"])
            self.joined += 1
            return
        if kind == "remove" and len(self.world.groups) > 2:
            other = [m.leaf for m in group.roster() if m.leaf != group.own_leaf]
            self.world.commit(name, remove=[other[j % len(other)]])
            return
        result = group.commit()
        self.world.deliver(name, result.commit_message)
        group.merge_pending_commit()
        self.sent.append((name, result.commit_message))

    @rule(i=st.integers(0, 7), j=st.integers(1, 7))
    def update_by_reference(self, i: int, j: int) -> None:
        names = sorted(self.world.groups)
        proposer, committer = names[i % len(names)], names[(i + j) % len(names)]
        if proposer == committer:
            return
        self.world.deliver(proposer, self.world.groups[proposer].propose_update())
        self.world.commit(committer)

    @rule(i=st.integers(0, 7), k=st.integers(0, 1000))
    def replay(self, i: int, k: int) -> None:
        if not self.sent:
            return
        _, message = self.sent[k % len(self.sent)]
        _, group = self._pick(i)
        before = group.epoch_authenticator
        try:
            group.process(message)
        except DOCUMENTED:
            pass
        else:
            raise AssertionError("a replayed message was accepted")
        assert group.epoch_authenticator == before

    @rule(i=st.integers(0, 7), position=st.integers(0, 10_000), bit=st.integers(0, 7),
          handshake=st.booleans())
    def tamper(self, i: int, position: int, bit: int, handshake: bool) -> None:
        name, group = self._pick(i)
        receiver_name, receiver = self._pick(i + 1)
        if receiver_name == name:
            return
        message = group.commit().commit_message if handshake else group.encrypt(b"secret")
        bad = bytearray(message)
        bad[position % len(bad)] ^= 1 << bit
        before = receiver.epoch_authenticator
        with pytest.raises(DOCUMENTED):
            receiver.process(bytes(bad))
        assert receiver.epoch_authenticator == before
        if handshake:
            # The genuine commit still goes through everywhere.
            self.world.deliver(name, message)
            group.merge_pending_commit()
        else:
            self.world.deliver(name, message)

    @invariant()
    def members_agree(self) -> None:
        if hasattr(self, "world"):
            self.world.assert_agree()


GroupMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestGroupMachine = GroupMachine.TestCase
