"""``python -m letterlock.bench server``: the delivery server end to end, next to targets.

A real ``letterlock serve`` process runs on a free loopback port, on SQLite (a temporary
data directory) and/or PostgreSQL (a fresh temporary database, dropped afterwards).
Simulated devices live in this process (asyncio): they register and log in, build real
MLS groups with :class:`letterlock.mls.group.Group`, and send well-formed MLS
PrivateMessages pre-generated with ``Group.encrypt``, as ``send`` frames on their mailbox
WebSocket (as the SDK does while connected; one row repeats the 1:1 load over HTTP POST).
Receivers hold the mailbox WebSocket, read each Envelope's ``group_seq`` (they do not
decrypt) and acknowledge with ack frames, so mailboxes stay short.

Measured, per backend:

- **1:1**: ``--devices`` devices in pairs, each pair a two-member group with one sender;
  recipient deliveries per second end to end with as many sends in flight as
  ``--window`` allows per sender, and p50/p99 from send to receipt;
- the same **paced** at half the target rate, 1,500/s (the target: p99 under 50 ms; three
  runs, the median p99 shown with the range), and at half the measured rate (open loop:
  latency counts from when a message was due, so a stalled server cannot hide its
  queue; and each sender may have
  as many sends in flight as the server takes from one connection, as the SDK may, so
  a brief stall is not stretched by a sender that may not send what is due);
- a **group** of ``--group-size`` members (one sender): every recipient delivery counts;
- **idle memory**: a fresh server, ``--idle-devices`` connected WebSockets; the growth of
  the server's RSS (``/proc/<pid>/status``) divided by the number of devices.

Every load loop is bounded by a deadline (``--seconds``) and by its pre-generated
messages; the drain after it is bounded too. Next to each rate, the server's own CPU time
per message (all its threads, from ``/proc``): the figure that holds when the machine is
shared and rates swing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from letterlock.server.api.ws import MAX_SENDS_IN_FLIGHT
from letterlock.server.process import ServerProcess

from ._server_devices import BenchDevice, Receiver, create_group, sign_up
from ._server_load import Chat, LoadResult, run_load
from ._server_process import running_server, temporary_postgres
from ._timing import table

__all__ = ["main"]

# Targets for this two-core machine on SQLite (the task's acceptance bar).
TARGET_1TO1_RATE = 3_000
TARGET_PACED_P99 = 0.050
TARGET_GROUP_RATE = 20_000
TARGET_IDLE_BYTES = 64 * 1024
ANCHOR = ("anchor, Matrix Synapse 1.163 (Python, SQLite), same machine: at most 50 msg/s 1:1 "
          "(p50 52 ms at 25/s); 180 recipient deliveries/s in a 50-member room (p99 > 1 s)")
# Message budgets: the most a closed loop may send per second of --seconds.
BUDGET_1TO1 = 8_000
BUDGET_GROUP = 1_000
# Paced (open-loop) loads: a sender sends what is due even while earlier sends are
# unanswered, up to what the server accepts on one connection.
PACED_WINDOW = MAX_SENDS_IN_FLIGHT
PACED_RUNS = 3
SETUP_CONCURRENCY = 16
CONNECT_CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class Options:
    backends: tuple[str, ...]
    seconds: float
    devices: int
    group_size: int
    idle_devices: int
    window: int
    group_window: int
    postgres_url: str


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    rate: str
    p50: str
    p99: str
    target: str
    verdict: str
    cpu: str = ""


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.1f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


async def _gather_limited(limit: int, jobs: Sequence[object]) -> list[object]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: object) -> object:
        async with semaphore:
            return await job  # type: ignore[misc]

    return await asyncio.gather(*(one(j) for j in jobs))


async def _sign_up_many(http: httpx.AsyncClient, prefix: str, count: int) -> list[BenchDevice]:
    found = await _gather_limited(SETUP_CONCURRENCY, [sign_up(http, f"{prefix}{i:05d}")
                                                      for i in range(count)])
    return [d for d in found if isinstance(d, BenchDevice)]


async def _open_receivers(server: ServerProcess, devices: Sequence[BenchDevice]) -> list[Receiver]:
    found = await _gather_limited(CONNECT_CONCURRENCY, [Receiver.open(server.ws_url, d)
                                                        for d in devices])
    return [r for r in found if isinstance(r, Receiver)]


async def _ack_flusher(receivers: Sequence[Receiver]) -> None:
    """Acknowledge what every receiver got, every 50 ms (receivers also ack every 64)."""
    while True:
        await asyncio.sleep(0.05)
        for receiver in receivers:
            await receiver.flush_ack()


@asynccontextmanager
async def _server(backend: str, options: Options, tmp: Path,
                  name: str) -> AsyncIterator[ServerProcess]:
    async with AsyncExitStack() as stack:
        url = None
        if backend == "postgresql":
            url = await stack.enter_async_context(temporary_postgres(options.postgres_url))
        yield await stack.enter_async_context(running_server(tmp / name, url))


def _load_rows(label: str, result: LoadResult, target: str, ok: bool | None,
               cpu: float = 0.0) -> Row:
    note = ""
    if result.errors:
        note += f" ({result.errors} errors)"
    if result.deliveries < result.expected:
        note += f" ({result.expected - result.deliveries} undelivered)"
    if result.exhausted:
        note += " (message budget ran out)"
    note += f" [bench CPU {result.client_cpu:.0%}]"
    per = f"{cpu / result.deliveries * 1e6:,.0f} µs" if result.deliveries else "-"
    return Row(label + note, f"{result.rate:,.0f}", _ms(result.percentile(50)),
               _ms(result.percentile(99)), target,
               "" if ok is None else _verdict(ok), per)


async def _measured(server: ServerProcess, load: Awaitable[LoadResult]
                    ) -> tuple[LoadResult, float]:
    """Run ``load``; its result and the server CPU seconds it took."""
    before = server.cpu()
    result = await load
    return result, server.cpu() - before


async def _chat_scenarios(server: ServerProcess, options: Options, run: str) -> list[Row]:
    rows: list[Row] = []
    pairs = max(1, options.devices // 2)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        devices = await _sign_up_many(http, f"@b{run}_p", pairs * 2)
        members = await _sign_up_many(http, f"@b{run}_g", options.group_size)
        chats = []
        for i in range(pairs):
            sender, peer = devices[2 * i], devices[2 * i + 1]
            group = await create_group(http, f"chat-{run}-{i}".encode(), sender, [peer])
            chats.append(Chat(f"chat-{run}-{i}".encode(), sender, group, []))
        room_id = f"room-{run}".encode()
        room_group = await create_group(http, room_id, members[0], members[1:])
    receivers_1to1 = await _open_receivers(server, devices[1::2])
    receivers_room = await _open_receivers(server, members[1:])
    for chat, receiver in zip(chats, receivers_1to1, strict=True):
        chat.receivers.append(receiver)
    room = Chat(room_id, members[0], room_group, receivers_room)
    everyone = [*receivers_1to1, *receivers_room]
    for receiver in everyone:
        receiver.start()
    flusher = asyncio.create_task(_ack_flusher(everyone))
    try:
        await asyncio.sleep(0.5)  # the Welcomes are pushed and acknowledged first
        seconds, budget = options.seconds, int(options.seconds * BUDGET_1TO1)
        full, cpu = await _measured(server, run_load(
            server.port, chats, seconds=seconds, window=options.window, budget=budget))
        rows.append(_load_rows(f"1:1, {pairs} chats, max rate", full,
                               f">= {TARGET_1TO1_RATE:,}/s", full.rate >= TARGET_1TO1_RATE,
                               cpu))
        # The target: p99 under 50 ms at half the target rate; and, for the record, at
        # half the rate this run measured (a harder load once the server beats 3,000/s).
        for rate, judged in ((TARGET_1TO1_RATE / 2, True), (max(1.0, full.rate / 2), False)):
            # The judged rate runs PACED_RUNS times; the run with the median p99 is shown,
            # with the range: one fsync stall on a shared disk decides a single run's p99.
            runs = []
            for _ in range(PACED_RUNS if judged else 1):
                runs.append(await _measured(server, run_load(
                    server.port, chats, seconds=seconds, window=PACED_WINDOW,
                    budget=int(rate * seconds) + pairs, rate=rate)))
            runs.sort(key=lambda run: run[0].percentile(99))
            paced, cpu = runs[len(runs) // 2]
            label = "half the target" if judged else "half the measured rate"
            if len(runs) > 1:
                label += (f"; median p99 of {len(runs)} runs, "
                          f"{_ms(runs[0][0].percentile(99))} to "
                          f"{_ms(runs[-1][0].percentile(99))}")
            rows.append(_load_rows(f"1:1 paced at {rate:,.0f}/s ({label})", paced,
                                   f"p99 < {TARGET_PACED_P99 * 1e3:.0f} ms" if judged else "",
                                   paced.percentile(99) < TARGET_PACED_P99 if judged else None,
                                   cpu))
        posted, cpu = await _measured(server, run_load(
            server.port, chats, seconds=seconds, window=options.window, budget=budget,
            http=True))
        rows.append(_load_rows("1:1, max rate, sent as HTTP POSTs", posted, "", None, cpu))
        size = options.group_size
        burst, cpu = await _measured(server, run_load(
            server.port, [room], seconds=seconds, window=options.group_window,
            budget=int(options.seconds * BUDGET_GROUP)))
        rows.append(_load_rows(f"group of {size}, max rate", burst,
                               f">= {TARGET_GROUP_RATE:,}/s", burst.rate >= TARGET_GROUP_RATE,
                               cpu))
        msgs = max(1.0, burst.rate / max(1, size - 1) / 2)
        group_paced, cpu = await _measured(server, run_load(
            server.port, [room], seconds=seconds, window=PACED_WINDOW,
            budget=int(msgs * seconds) + 1, rate=msgs))
        rows.append(_load_rows(f"group of {size} paced at {msgs:,.0f} msg/s", group_paced,
                               "", None, cpu))
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        for receiver in everyone:
            await receiver.close()
    return rows


async def _idle_memory(server: ServerProcess, options: Options, run: str) -> Row:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        devices = await _sign_up_many(http, f"@b{run}_i", options.idle_devices)
    await asyncio.sleep(1.0)
    before = server.rss()
    receivers = await _open_receivers(server, devices)
    try:
        await asyncio.sleep(2.0)
        after = server.rss()
    finally:
        for receiver in receivers:
            await receiver.close()
    per_device = (after - before) / max(1, len(receivers))
    return Row(f"idle memory, {len(receivers):,} WebSockets "
               f"(RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB)",
               f"{per_device / 1024:,.1f} KiB/device", "", "",
               f"<= {TARGET_IDLE_BYTES // 1024} KiB", _verdict(per_device <= TARGET_IDLE_BYTES))


async def _bench_backend(backend: str, options: Options, tmp: Path) -> list[Row]:
    run = uuid.uuid4().hex[:6]
    async with _server(backend, options, tmp, f"{backend}-load") as server:
        rows = await _chat_scenarios(server, options, run)
    async with _server(backend, options, tmp, f"{backend}-idle") as server:
        rows.append(await _idle_memory(server, options, run))
    return rows


def _print_table(backend: str, rows: Sequence[Row], elapsed: float) -> None:
    print(f"Backend {backend} ({elapsed:.0f} s)")
    print(table(("scenario", "delivered/s", "p50", "p99", "server CPU/delivery",
                 "target (SQLite)", ""),
                [(r.scenario, r.rate, r.p50, r.p99, r.cpu, r.target, r.verdict)
                 for r in rows]))
    print(flush=True)


async def _main(options: Options) -> None:
    print("Letterlock delivery server, end to end over loopback: a real `letterlock serve` "
          "process;")
    print("senders send real MLS PrivateMessages (pre-generated with Group.encrypt, suite 1, "
          "100-byte payload) on their mailbox WebSocket;")
    print("receivers read the Envelope's group_seq from the WebSocket (no decryption) and ack.")
    print(f"{options.seconds:g} s per load; at max rate {options.window} sends in flight per "
          f"1:1 sender, {options.group_window} for the group sender; paced (open loop) up to "
          f"{PACED_WINDOW}; latency = from when a send was due to receipt.")
    print()
    with tempfile.TemporaryDirectory(prefix="letterlock-bench-") as tmp:
        for backend in options.backends:
            start = time.perf_counter()
            rows = await _bench_backend(backend, options, Path(tmp))
            _print_table(backend, rows, time.perf_counter() - start)
    print(ANCHOR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m letterlock.bench server",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=None, help="per load (default 5)")
    parser.add_argument("--devices", type=int, default=None,
                        help="1:1 devices, in pairs (default 64)")
    parser.add_argument("--group-size", type=int, default=50)
    parser.add_argument("--idle-devices", type=int, default=None,
                        help="connected WebSockets for the memory figure (default 1000)")
    parser.add_argument("--window", type=int, default=2,
                        help="sends in flight per 1:1 sender")
    parser.add_argument("--group-window", type=int, default=8,
                        help="sends in flight for the group sender")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--quick", action="store_true",
                        help="1 s loads, 16 devices, 200 idle WebSockets")
    args = parser.parse_args(argv)
    options = Options(
        backends=("sqlite", "postgresql") if args.backend == "both" else (args.backend,),
        seconds=args.seconds or (1.0 if args.quick else 5.0),
        devices=max(2, args.devices or (16 if args.quick else 64)),
        group_size=max(2, args.group_size),
        idle_devices=max(1, args.idle_devices or (200 if args.quick else 1000)),
        window=max(1, args.window), group_window=max(1, args.group_window),
        postgres_url=args.postgres_url)
    start = time.perf_counter()
    asyncio.run(_main(options))
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0
