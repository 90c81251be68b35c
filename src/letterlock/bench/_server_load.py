"""Load loops for the server benchmark: closed-loop (as fast as the server answers) and
paced (a fixed offered rate), both bounded by a message budget and a deadline.

Each :class:`Chat` is one group with one sending device whose request bodies were made
beforehand by a real :class:`~letterlock.mls.group.Group`. A send's time is keyed by the
group sequence number the server answers with; a receiver keys each arrival by the
``group_seq`` of the Envelope it got, so the two meet whatever order they happen in
(the push can reach a receiver before the sender has read its 200).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from letterlock.client.transport import group_text
from letterlock.mls.group import Group

from ._server_devices import BenchDevice, Receiver, Sender, SocketSender, encrypted

__all__ = ["Chat", "LoadResult", "run_load"]

DRAIN_SECONDS = 10.0
PAYLOAD = bytes(100)


@dataclass
class Chat:
    """One group under load: its sender, the sender's Group, and its receivers."""

    group_id: bytes
    sender: BenchDevice
    group: Group
    receivers: list[Receiver]
    _made: int = 0

    @property
    def gid(self) -> str:
        return group_text(self.group_id)

    def messages(self, count: int) -> list[tuple[str, str]]:
        """``count`` fresh ``(client id, base64 PrivateMessage)`` pairs."""
        start, self._made = self._made, self._made + count
        return [(f"m{i}", encrypted(self.group, PAYLOAD)) for i in range(start, self._made)]


@dataclass(frozen=True, slots=True)
class LoadResult:
    sent: int
    errors: int
    deliveries: int
    expected: int
    elapsed: float
    latencies: list[float]  # seconds, sorted
    exhausted: bool  # the pre-generated messages ran out before the deadline
    client_cpu: float  # the bench process's CPU while sending, in cores

    @property
    def rate(self) -> float:
        return self.deliveries / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(p / 100 * len(self.latencies)))]


async def run_load(port: int, chats: Sequence[Chat], *, seconds: float, window: int,
                   budget: int, rate: float | None = None, http: bool = False) -> LoadResult:
    """Send for ``seconds`` (at most ``budget`` messages in all) with ``window`` sends in
    flight per chat: as fast as possible, or at ``rate`` messages per second in all. Sends
    go over each sender's mailbox WebSocket, or with ``http`` as HTTP POSTs (one
    keep-alive connection per send in flight)."""
    per_chat = max(1, budget // len(chats))
    bodies = [chat.messages(per_chat) for chat in chats]
    senders: list[list[Sender | SocketSender]] = []
    for chat in chats:
        if http:
            senders.append([await Sender.open(port, chat.sender) for _ in range(window)])
        else:  # one socket, ``window`` sends in flight on it
            socket = await SocketSender.open(f"ws://127.0.0.1:{port}/v1/ws", chat.sender)
            senders.append([socket] * window)
    for chat in chats:
        for receiver in chat.receivers:
            receiver.arrivals = []
    sends: dict[tuple[bytes, int], float] = {}
    errors = 0
    # The load generator must not pause either: a full collection of this process's
    # heap (every pre-generated message) took ~100 ms, counted against the server.
    with _collector_paused():
        cpu_start = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        interval = len(chats) / rate if rate else 0.0

        async def worker(index: int, chat: Chat, sender: Sender | SocketSender,
                         queue: list[tuple[str, str]], counter: list[int]) -> None:
            nonlocal errors
            # Paced chats start at staggered phases so the offered load is smooth.
            phase = interval * index / len(chats)
            while counter[0] < len(queue):
                k = counter[0]
                counter[0] += 1
                due = start + phase + k * interval if interval else time.perf_counter()
                if due >= deadline:
                    return
                if interval and due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
                seq = await sender.send(chat.gid, *queue[k])
                if seq is None:
                    errors += 1
                    continue
                # Paced latency runs from when the message was due, not when it went out:
                # a send delayed by a slow server counts against the server.
                sends[(chat.group_id, seq)] = due

        tasks = [worker(i, chat, sender, bodies[i], counter)
                 for i, (chat, pool) in enumerate(zip(chats, senders, strict=True))
                 for counter in [[0]] for sender in pool]
        await asyncio.gather(*tasks)
        cpu = time.process_time() - cpu_start
        sending = time.perf_counter() - start
        # Closed-loop workers stop early only when their pre-generated messages ran out.
        exhausted = rate is None and time.perf_counter() < deadline - 0.05
        expected = _expected(chats, sends)
        drain_until = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < drain_until and _arrived(chats) < expected:
            await asyncio.sleep(0.02)
    for pool in senders:
        for sender in set(pool):
            await sender.close()
    latencies: list[float] = []
    last = start
    for chat in chats:
        for receiver in chat.receivers:
            for group_id, seq, arrived in receiver.arrivals:
                sent_at = sends.get((group_id, seq))
                if sent_at is not None:
                    latencies.append(arrived - sent_at)
                    last = max(last, arrived)
    latencies.sort()
    return LoadResult(len(sends), errors, len(latencies), expected, last - start, latencies,
                      exhausted, cpu / sending if sending > 0 else 0.0)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection in this process meanwhile (what is alive now is frozen:
    never scanned again)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def _expected(chats: Sequence[Chat], sends: dict[tuple[bytes, int], float]) -> int:
    by_group: dict[bytes, int] = {}
    for group_id, _seq in sends:
        by_group[group_id] = by_group.get(group_id, 0) + 1
    return sum(by_group.get(chat.group_id, 0) * len(chat.receivers) for chat in chats)


def _arrived(chats: Sequence[Chat]) -> int:
    return sum(len(r.arrivals) for chat in chats for r in chat.receivers)
