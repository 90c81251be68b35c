"""The ``letterlock`` command.

``letterlock demo`` runs a self-contained tour (an embedded server, three users, a 1:1
and a group chat, and what the server stored; see :mod:`letterlock.demo`).
``letterlock conformance [DIR]`` runs the official MLS vectors, ``letterlock serve``
runs the delivery server (SQLite in the data directory unless ``--database-url``), and
``letterlock [--profile DIR] [--json] account register|show``, ``devices list``,
``send``, ``receive``, ``group create|add|remove|leave|list|members|rename``,
``verify @handle|GROUP`` (safety number and QR code, or a group's epoch code) and
``audit --server URL`` (replay the key-transparency log) drive the client SDK
(implemented in :mod:`letterlock.client.commands`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from letterlock import __version__

if TYPE_CHECKING:
    from letterlock.server.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="letterlock", description="Letterlock messenger")
    parser.add_argument("--version", action="version", version=f"letterlock {__version__}")
    parser.add_argument("--profile", help="client profile directory (default: "
                        "$XDG_DATA_HOME/letterlock/profile)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="run the official RFC 9420 test vectors")
    conf.add_argument("directory", nargs="?", help="vector directory")
    conf.add_argument("-v", "--verbose", action="store_true")
    serve = sub.add_parser("serve", help="run the delivery server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data-dir", help="default: $XDG_DATA_HOME/letterlock or "
                       "~/.local/share/letterlock")
    serve.add_argument("--database-url", help="default: SQLite in the data directory; "
                       "or postgresql://user@host/db")
    serve.add_argument("--bus-url", help="default: in-process (one node); "
                       "redis://host:6379/0 to run several nodes behind a load balancer")
    serve.add_argument("--registration", choices=("open", "invite"), default="open")
    serve.add_argument("--log-key-file", help="the key transparency log's private key "
                       "(default: transparency.key in the data directory, created on first "
                       "start; all nodes of a cluster must share it)")
    serve.add_argument("--auditor-token", action="append", default=[], metavar="TOKEN",
                       help="a bearer token that may read the whole transparency log "
                       "(repeatable)")
    tour = sub.add_parser("demo", help="a self-contained tour: an embedded server, three "
                          "users, a 1:1 and a group chat, and what the server stored")
    # Its own dest: a subparser's default would overwrite the global --json.
    tour.add_argument("--json", dest="demo_json", action="store_true",
                      help="print a machine-readable summary instead of the story")
    invite = sub.add_parser("invite", help="create a single-use registration invite code")
    invite.add_argument("--data-dir")
    invite.add_argument("--database-url")
    account = sub.add_parser("account", help="this profile's account").add_subparsers(
        dest="action", required=True)
    register = account.add_parser("register", help="create an account on a server")
    register.add_argument("handle", help="e.g. @alice")
    register.add_argument("--server", required=True, help="e.g. https://chat.example.org")
    register.add_argument("--invite", help="invite code, if the server requires one")
    account.add_parser("show", help="show this profile's account")
    devices = sub.add_parser("devices", help="the account's devices").add_subparsers(
        dest="action", required=True)
    devices.add_parser("list", help="list the account's devices")
    _conversation_commands(sub)
    args = parser.parse_args(argv)
    if args.command in ("account", "devices", "send", "receive", "group", "verify",
                        "audit"):
        from letterlock.client.commands import run_client_command

        return run_client_command(args)
    if args.command == "conformance":
        from letterlock.mls import conformance

        forwarded = [args.directory] if args.directory else []
        return conformance.main([*forwarded, *(["-v"] if args.verbose else [])])
    if args.command == "serve":
        return _serve(args)
    if args.command == "demo":
        from letterlock.demo import main as demo

        return demo(json_output=bool(args.json or args.demo_json))
    if args.command == "invite":
        from letterlock.server.admin import create_invite

        print(create_invite(_settings(args)))
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def _conversation_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = sub.add_parser("send", help="send a text to @handle (1:1) or a group")
    send.add_argument("to", help="@handle (starts the 1:1 conversation on first use), or "
                      "a group's name or id")
    send.add_argument("text")
    receive = sub.add_parser("receive", help="print incoming messages and events")
    receive.add_argument("--follow", action="store_true",
                         help="keep running (until --timeout seconds, if given)")
    receive.add_argument("--timeout", type=float, help="without --follow: stop after "
                         "this many idle seconds (default 2)")
    group = sub.add_parser("group", help="group conversations").add_subparsers(
        dest="action", required=True)
    create = group.add_parser("create", help="create a group (the name stays local)")
    create.add_argument("name")
    create.add_argument("handles", nargs="*", metavar="@handle")
    for action, text in (("add", "add members"), ("remove", "remove members")):
        parser = group.add_parser(action, help=text)
        parser.add_argument("group", help="name, @peer of a 1:1, or id prefix")
        parser.add_argument("handles", nargs="+", metavar="@handle")
    for action, text in (("leave", "ask the others to remove you"),
                         ("members", "list the group's devices")):
        group.add_parser(action, help=text).add_argument("group")
    group.add_parser("list", help="list conversations")
    rename = group.add_parser("rename", help="set a conversation's local name")
    rename.add_argument("group")
    rename.add_argument("name")
    verify = sub.add_parser("verify", help="the safety number (and QR code) with @handle, "
                            "or a group's epoch code")
    verify.add_argument("target", help="@handle, or a group's name or id")
    audit = sub.add_parser("audit", help="replay a server's key-transparency log and "
                           "check it against every tree head seen (exit 1 if broken)")
    audit.add_argument("--server", required=True, help="e.g. https://chat.example.org")
    audit.add_argument("--auditor-token", help="an auditor token (default: log in as "
                       "this profile's device, if it is registered on that server)")
    audit.add_argument("--state", help="JSON file keeping the log key and the tree heads "
                       "seen, between runs")


def _settings(args: argparse.Namespace) -> Settings:
    from letterlock.server.settings import RegistrationMode, Settings, default_data_dir

    return Settings(
        data_dir=Path(args.data_dir) if args.data_dir else default_data_dir(),
        database_url=args.database_url,
        bus_url=getattr(args, "bus_url", None),
        registration=RegistrationMode(getattr(args, "registration", "open")),
        log_key_file=Path(args.log_key_file) if getattr(args, "log_key_file", None) else None,
        auditor_tokens=tuple(getattr(args, "auditor_token", ())))


def _serve(args: argparse.Namespace) -> int:
    from letterlock.server.serve import run

    return run(_settings(args), host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
