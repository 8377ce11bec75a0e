"""The `vedfolnir-realtime` console script: each command wired to the use case or entry point that answers it."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from adapters.inbound import cli_tools
from adapters.inbound.cli import parser, print_result
from adapters.inbound.logging_setup import configure_logging
from adapters.outbound.crypto import TokenCipher
from application.port_errors import refusal_of
from composition.config import Settings
from composition.container import Container, build_container
from composition.lifecycle import running, upgrade_database
from domain.errors import DomainError, ErrorCode
from domain.identity import Role
from domain.platforms import PlatformType
from entrypoints.serve import serve
from entrypoints.worker import run_worker


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors())
        print(json.dumps({"error_code": "INVALID_SETTINGS", "error_message": problems}), file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.node_id)
    if args.command == "serve":
        return serve(settings, args.host, args.port, args.demo)
    if args.command == "keys":
        print(TokenCipher.new_key())
        return 0
    if args.command == "worker":
        return asyncio.run(_work(settings))
    if args.command in cli_tools.COMMANDS:
        return asyncio.run(cli_tools.run(args, settings))
    try:
        return asyncio.run(_run_command(settings, args))
    except Exception as exc:  # every refusal or failure is the JSON error the README promises, never a traceback
        refusal = refusal_of(exc)
        if refusal is None:
            logging.getLogger("vedfolnir.cli").exception("%s %s failed", args.command, args.action)
            refusal = DomainError(ErrorCode.INTERNAL_ERROR, "The command failed; the log says why")
        answer = {"error_code": refusal.code.value, "error_message": refusal.message, **refusal.details}
        print(json.dumps(answer), file=sys.stderr)
        return 1


async def _work(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run_worker(settings, stop)
    return 0


async def _run_command(settings: Settings, args: argparse.Namespace) -> int:
    container = build_container(settings)
    actions: dict[tuple[str, str], Callable[[Container], Awaitable[Any]]] = {
        ("db", "upgrade"): lambda c: upgrade_database(settings),
        ("users", "add"): lambda c: c.add_user()(args.username, Role(args.role), not args.inactive),
        ("sessions", "issue"): lambda c: c.issue_session()(args.username, args.ttl),
        ("sessions", "revoke"): lambda c: c.revoke_session()(args.session_id),
        ("platforms", "add"): lambda c: _add_platform(c, args),
        ("demo", "seed"): lambda c: c.seed_demo()(),
    }
    async with running(container):
        result = await actions[(args.command, args.action)](container)
    print_result(args, result, settings.session_cookie_name, settings.database_url)
    return 0 if result is not False else 1


async def _add_platform(container: Container, args: argparse.Namespace) -> Any:
    token = sys.stdin.readline().strip() if args.token == "-" else args.token
    return await container.connect_platform().for_username(
        args.username, args.name, PlatformType(args.type), args.url, token
    )


if __name__ == "__main__":
    sys.exit(main())
