"""Attacks 1-4 played by a dishonest operator against real ``letterlock serve`` processes.

The operator holds everything a server's operator holds: the data directory, with the
SQLite database and the transparency log's private key. It plays each attack by writing
to the database directly (the same statements the server's store runs, with its own log
key), by restarting the server so that it signs fresh tree heads over what it now finds,
or by routing one client to a forked copy of the server. The clients are the real SDK
(registered over HTTP), and the auditor is the real ``letterlock audit`` command.

Each test is named after its attack and asserts what catches it:

- ghost device logged on @bob's account: Bob's monitor raises NewDeviceOnAccount,
  Alice's client emits ContactDevicesChanged("@bob", "new device logged");
- a device in the database with a KeyPackage but no log entry: Alice's client refuses
  it with KeyNotLogged naming @bob and that device;
- history rewritten / truncated: the client's refresh raises InconsistentLogError (a
  SplitViewError for a same-size rewrite), and ``letterlock audit`` exits 1 saying so
  (exit 0 on the honest log before);
- a split view (two servers with one log key, diverged): each client's gossip check of
  the other's head raises a SplitViewAlert, and ``letterlock audit`` with both heads
  exits 1 with SplitViewError.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.helpers import receiving
from letterlock.client import (
    Client,
    ContactDevicesChanged,
    KeyNotLogged,
    NewDeviceOnAccount,
    SplitViewAlert,
)
from letterlock.client.audit import AuditState
from letterlock.client.keylog import KeyLog
from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.key_packages import create_key_package
from letterlock.mls.leaf_node import Lifetime
from letterlock.server.process import ServerProcess, free_port
from letterlock.server.services.log_key import load_or_create_log_key
from letterlock.server.services.transparency import TransparencyService
from letterlock.server.settings import Settings
from letterlock.server.store import READ_ONLY, Store
from letterlock.server.store import accounts as accounts_db
from letterlock.server.store import keypackages as kp_db
from letterlock.server.store import transparency as kt_db
from letterlock.server.store.tables import kt_entries, kt_tree_heads
from letterlock.transparency import (
    InconsistentLogError,
    LogAction,
    LogEntry,
    SignedTreeHead,
    SplitViewError,
)

AUDITOR = "dishonest-operator-test-auditor"
OPTIONS: dict[str, Any] = {"key_package_batch": 1, "key_package_low_water": 1}


# ---- the operator's tools ---------------------------------------------------------------


class Operator:
    """The operator of one server: its data directory, so its database and log key."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.settings = Settings(data_dir=server.data_dir)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Store]:
        store = await Store.open(self.settings.resolved_database_url(), run_migrations=False)
        try:
            yield store
        finally:
            await store.close()

    async def ghost_device(self, handle: str, *, logged: bool, with_key_package: bool,
                           seed: bytes) -> str:
        """Insert a device the owner of ``handle`` never approved; with ``logged`` its
        ADDED entry is appended too (exactly as the server would, under its log key)."""
        suite = cipher_suite(1)
        private, public = suite.generate_signature_key_pair(SeededRandom(seed))
        device_id = os.urandom(16).hex()
        now = int(time.time())
        async with self.database() as store:
            log = TransparencyService(store, self.settings, load_or_create_log_key(self.settings))
            async with store.transaction() as conn:
                devices = await accounts_db.devices_of(conn, handle)
                assert devices, f"{handle} has no account"
                await accounts_db.create_device(conn, device_id, devices[0].account_id, public,
                                                1, now)
                if logged:
                    await log.append(conn, LogAction.ADDED, handle, device_id, public, 1, now)
                if with_key_package:
                    bundle = create_key_package(
                        suite, credential=Credential.basic(handle.encode()),
                        signature_private_key=private,
                        lifetime=Lifetime(now - 3600, now + 86400), rng=SeededRandom(seed))
                    await kp_db.add(conn, device_id, [bundle.key_package.to_bytes()], now)
        return device_id

    async def rewrite_entry(self, index: int, seed: bytes) -> None:
        """Replace entry ``index``'s device key with one the operator holds, and forget
        the signed heads that include it (the server signs new ones on restart)."""
        suite = cipher_suite(1)
        _private, public = suite.generate_signature_key_pair(SeededRandom(seed))
        async with self.database() as store, store.transaction() as conn:
            (row,) = await kt_db.range_of(conn, index, index + 1)
            old = LogEntry.from_bytes(row.entry)
            forged = LogEntry(old.action, old.handle_commitment, old.device_id, public,
                              old.cipher_suite, old.timestamp)
            await conn.execute(
                kt_entries.update().where(kt_entries.c.log_index == index)
                .values(entry=forged.to_bytes(), leaf_hash=forged.leaf_hash()))
            await conn.execute(kt_tree_heads.delete()
                               .where(kt_tree_heads.c.tree_size > index))

    async def truncate(self, keep: int) -> None:
        """Drop every entry from index ``keep`` on with the devices they logged (else the
        server would log those devices again at start), and the signed heads past it."""
        async with self.database() as store, store.transaction() as conn:
            dropped = await kt_db.range_of(conn, keep, 1 << 62)
            for row in dropped:
                await accounts_db.delete_device(conn, row.device_id)
            await conn.execute(kt_entries.delete().where(kt_entries.c.log_index >= keep))
            await conn.execute(kt_tree_heads.delete()
                               .where(kt_tree_heads.c.tree_size > keep))

    def fork(self, data_dir: Path) -> None:
        """A consistent copy of the running server's database (SQLite's online backup)
        and of its log key, in ``data_dir``."""
        data_dir.mkdir(parents=True)
        source = sqlite3.connect(self.server.data_dir / "letterlock.db")
        target = sqlite3.connect(data_dir / "letterlock.db")
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        key = self.settings.resolved_log_key_file()
        shutil.copy2(key, data_dir / key.name)

    async def size(self) -> int:
        async with self.database() as store, store.transaction(READ_ONLY) as conn:
            return await kt_db.count(conn)

    def restart(self) -> None:
        """Restart the server on the same port: it rebuilds its log from the database
        and signs fresh tree heads over it with the log key."""
        self.server.stop()
        self.server.start()


class RouteTo(httpx.AsyncBaseTransport):
    """The operator's load balancer: sends a client's requests to ``port`` when set."""

    def __init__(self) -> None:
        self.port: int | None = None
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.port is not None:
            request.url = request.url.copy_with(port=self.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextmanager
def server_at(root: Path, port: int | None = None) -> Iterator[ServerProcess]:
    with ServerProcess(root / "data", root / "logs", port=port,
                       extra_args=("--auditor-token", AUDITOR)) as server:
        yield server


def audit(url: str, state: Path) -> subprocess.CompletedProcess[str]:
    """``letterlock audit --server URL`` with the auditor token, keeping ``state``."""
    return subprocess.run(
        [sys.executable, "-m", "letterlock.cli", "--profile", str(state.parent / "auditor"),
         "audit", "--server", url, "--auditor-token", AUDITOR, "--state", str(state)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(state.parent / "xdg")})


async def person(stack: AsyncExitStack, root: Path, handle: str, url: str,
                 **options: Any) -> Client:
    client = await stack.enter_async_context(Client.open(
        root / handle.lstrip("@"), rng=SeededRandom(handle.encode()), **OPTIONS, **options))
    await client.register(handle, url)
    return client


async def keylog(client: Client) -> KeyLog:
    return await client.transparency()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the attacks that need no restart (each uses its own handles)."""
    with server_at(tmp_path_factory.mktemp("shared-server")) as server:
        yield server


# ---- attack 2: a ghost device, logged -------------------------------------------------------


def test_attack_ghost_device_logged_alerts_bob_and_alice(shared_server: ServerProcess,
                                                         tmp_path: Path) -> None:
    server, operator = shared_server, Operator(shared_server)

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            alice = await person(stack, tmp_path, "@alice", server.url)
            bob = await person(stack, tmp_path, "@bob", server.url)
            alice_events = await stack.enter_async_context(receiving(alice))
            before = await alice.safety_number("@bob")
            assert await bob.check_log() == []

            ghost = await operator.ghost_device("@bob", logged=True,
                                                with_key_package=False, seed=b"ghost")

            alerts = await bob.check_log()
            assert len(alerts) == 1 and isinstance(alerts[0], NewDeviceOnAccount)
            assert (alerts[0].handle, alerts[0].device_id, alerts[0].known_device) == \
                ("@bob", ghost, False)
            assert await bob.check_log() == []  # raised once
            assert await alice.safety_number("@bob") != before
            changed = await alice_events.wait(
                lambda e: isinstance(e, ContactDevicesChanged))
            assert changed == ContactDevicesChanged("@bob", "new device logged")

    asyncio.run(scenario())


# ---- attack 1: a device whose key is not in the log --------------------------------------


def test_attack_unlogged_device_keypackage_refused_by_sender(shared_server: ServerProcess,
                                                            tmp_path: Path) -> None:
    server, operator = shared_server, Operator(shared_server)

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            ann = await person(stack, tmp_path, "@ann", server.url)
            await person(stack, tmp_path, "@ben", server.url)
            ghost = await operator.ghost_device("@ben", logged=False,
                                                with_key_package=True, seed=b"unlogged")
            with pytest.raises(KeyNotLogged) as refused:
                await ann.start_conversation("@ben")
            assert (refused.value.handle, refused.value.device_id) == ("@ben", ghost)
            assert refused.value.reason == "the server sent no log proof"
            assert await ann.conversations() == []  # nothing was created

    asyncio.run(scenario())


# ---- attack 4: history rewritten or truncated ---------------------------------------------


def test_attack_history_rewritten_fails_refresh_and_audit(tmp_path: Path) -> None:
    state = tmp_path / "audit.json"
    with server_at(tmp_path / "server") as server:
        operator = Operator(server)

        async def scenario() -> None:
            async with AsyncExitStack() as stack:
                alice = await person(stack, tmp_path, "@alice", server.url)
                await person(stack, tmp_path, "@bob", server.url)
                held = await (await keylog(alice)).refresh()
                assert held.tree_size == 2
                honest = audit(server.url, state)
                assert honest.returncode == 0, honest.stderr
                assert "audit passed: 2 entries" in honest.stdout

                # @bob's entry now names a key the operator holds; the restarted server
                # signs the rewritten tree (same size, another root)
                await operator.rewrite_entry(1, seed=b"operator key")
                operator.restart()

                with pytest.raises(SplitViewError) as caught:
                    await (await keylog(alice)).refresh()
                assert isinstance(caught.value, InconsistentLogError)
                assert caught.value.previous == held
                assert caught.value.current is not None
                assert caught.value.current.tree_size == 2
                assert caught.value.current.root_hash != held.root_hash

                broken = audit(server.url, state)
                assert broken.returncode == 1, broken.stdout
                assert "!! AUDIT FAILED: SplitViewError: two roots signed for size 2" \
                    in broken.stderr

        asyncio.run(scenario())


def test_attack_history_truncated_fails_refresh_and_audit(tmp_path: Path) -> None:
    with server_at(tmp_path / "server") as server:
        operator = Operator(server)

        async def scenario() -> None:
            async with AsyncExitStack() as stack:
                alice = await person(stack, tmp_path, "@alice", server.url)
                await person(stack, tmp_path, "@bob", server.url)
                await operator.ghost_device("@bob", logged=True, with_key_package=False,
                                            seed=b"ghost")
                held = await (await keylog(alice)).refresh()
                assert held.tree_size == 3
                state = await auditor_state(tmp_path, alice.transparency, [held])

                # The operator erases the evidence: the ghost device and its entry go,
                # and the restarted server signs the shorter log
                await operator.truncate(keep=2)
                operator.restart()
                broken = audit(server.url, state)
                assert broken.returncode == 1, broken.stdout
                assert ("!! AUDIT FAILED: InconsistentLogError: a tree head claims 3 "
                        "entries; the log handed over 2") in broken.stderr

                # ... and grows on: its new tree does not extend the one alice holds
                await person(stack, tmp_path, "@dave", server.url)
                await person(stack, tmp_path, "@erin", server.url)
                assert await operator.size() == 4
                with pytest.raises(InconsistentLogError) as caught:
                    await (await keylog(alice)).refresh()
                assert not isinstance(caught.value, SplitViewError)
                assert "does not extend the held one" in str(caught.value)
                assert caught.value.previous == held

        asyncio.run(scenario())


# ---- attack 3: a split view ------------------------------------------------------------------


def test_attack_split_view_detected_by_gossip_and_audit(tmp_path: Path) -> None:
    route = RouteTo()
    with server_at(tmp_path / "a") as node_a:

        async def scenario() -> None:
            async with AsyncExitStack() as stack:
                alice = await person(stack, tmp_path, "@alice", node_a.url)
                bob = await person(stack, tmp_path, "@bob", node_a.url, http_transport=route)
                # The fork: a consistent copy of node A's database, and its log key,
                # served by a second process; the operator's load balancer sends @bob
                # there from now on. Each side then logs a different account.
                Operator(node_a).fork(tmp_path / "b" / "data")
                node_b = stack.enter_context(server_at(tmp_path / "b", port=free_port()))
                route.port = node_b.port
                await person(stack, tmp_path, "@carol", node_a.url)
                await person(stack, tmp_path, "@mallory", node_b.url)

                alice_head = await (await keylog(alice)).refresh()
                bob_head = await (await keylog(bob)).refresh()
                # each view is consistent on its own ...
                assert alice_head.tree_size == bob_head.tree_size == 3
                assert alice_head.root_hash != bob_head.root_hash
                # ... until the two clients compare the heads they were shown
                conversation = b"alice-bob"
                seen_by_alice = await (await keylog(alice)).check_gossip(
                    bob_head.to_bytes(), conversation, "@bob")
                seen_by_bob = await (await keylog(bob)).check_gossip(
                    alice_head.to_bytes(), conversation, "@alice")
                for alerts, sender in ((seen_by_alice, "@bob"), (seen_by_bob, "@alice")):
                    assert len(alerts) == 1 and isinstance(alerts[0], SplitViewAlert)
                    assert (alerts[0].sender, alerts[0].conversation_id) == \
                        (sender, conversation)
                    assert "two roots for size 3" in alerts[0].detail

                # the auditor, handed both heads, audits node A's log
                state = auditor_state(tmp_path, alice.transparency, [alice_head, bob_head])
                broken = audit(node_a.url, await state)
                assert broken.returncode == 1, broken.stdout
                assert "!! AUDIT FAILED: SplitViewError: two roots signed for size 3" \
                    in broken.stderr

        asyncio.run(scenario())


async def auditor_state(root: Path, pinned: Callable[[], Awaitable[KeyLog]],
                        heads: list[SignedTreeHead]) -> Path:
    """An auditor's state file holding ``heads`` (gossiped to it by the clients) under
    the log key the clients pinned."""
    path = root / "audit.json"
    AuditState((await pinned()).log_public_key, list(heads)).save(path)
    return path
