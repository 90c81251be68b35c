"""The client sub-commands of ``letterlock`` (argument parsing stays in cli.py).

Every command prints human-readable text, or one JSON document with ``--json``. Errors
go to stderr (as ``{"error", "detail"}`` with ``--json``) with exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from .client import Account, Client, Device
from .errors import ClientError, ServerError

__all__ = ["run_client_command"]


def _fingerprint(key: bytes) -> str:
    return key.hex()[:16]


def _account_json(account: Account) -> dict[str, Any]:
    data = asdict(account)
    data["signature_key"] = base64.b64encode(account.signature_key).decode()
    return data


def _device_json(device: Device) -> dict[str, Any]:
    data = asdict(device)
    data["signature_key"] = base64.b64encode(device.signature_key).decode()
    return data


async def _register(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    account = await client.register(args.handle, args.server, invite=args.invite)
    return _account_json(account), (
        f"registered {account.handle} on {account.server_url}\n"
        f"device {account.device_id} (key {_fingerprint(account.signature_key)})")


async def _show(client: Client, _args: argparse.Namespace) -> tuple[Any, str]:
    account = client.account()
    return _account_json(account), (
        f"{account.handle} on {account.server_url}\n"
        f"device {account.device_id} (key {_fingerprint(account.signature_key)}, "
        f"cipher suite {account.cipher_suite})")


async def _devices(client: Client, _args: argparse.Namespace) -> tuple[Any, str]:
    devices = await client.devices()
    lines = [f"{'*' if d.current else ' '} {d.device_id}  key {_fingerprint(d.signature_key)}"
             f"  suite {d.cipher_suite}  added {d.created_at}" for d in devices]
    return {"devices": [_device_json(d) for d in devices]}, "\n".join(lines)


_COMMANDS: dict[tuple[str, str], Callable[[Client, argparse.Namespace],
                                          Awaitable[tuple[Any, str]]]] = {
    ("account", "register"): _register,
    ("account", "show"): _show,
    ("devices", "list"): _devices,
}


async def _run(args: argparse.Namespace) -> tuple[Any, str]:
    command = _COMMANDS[(args.command, args.action)]
    async with Client.open(args.profile) as client:
        return await command(client, args)


def run_client_command(args: argparse.Namespace) -> int:
    """Run ``args.command``/``args.action`` against ``args.profile``; the exit status."""
    try:
        data, text = asyncio.run(_run(args))
    except ClientError as exc:
        code = exc.code if isinstance(exc, ServerError) else type(exc).__name__
        detail = exc.detail if isinstance(exc, ServerError) else str(exc)
        if args.json:
            print(json.dumps({"error": code, "detail": detail}), file=sys.stderr)
        else:
            print(f"error: {detail} ({code})", file=sys.stderr)
        return 1
    print(json.dumps(data) if args.json else text)
    return 0
