"""The `vedfolnir-realtime` console script: serve, migrate, manage users, sessions and platform connections."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import bootstrap
from adapters.inbound import cli_tools
from adapters.inbound.http_api import session_json
from adapters.inbound.logging_setup import ACCESS_LOGGER, access_logger, configure_logging
from adapters.inbound.metrics_http import METRICS_KEY
from domain.errors import DomainError
from domain.identity import Role
from domain.platforms import PlatformType


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vedfolnir-realtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve Socket.IO at /socket.io/ and the HTTP API")
    serve.add_argument("--host", help="default: FLASK_HOST or 127.0.0.1")
    serve.add_argument(
        "--port", type=int, help="default: FLASK_PORT or 5000; 0 picks a free port (see the 'listening on' line)"
    )
    serve.add_argument("--demo", action="store_true", help="seed the demo user and admin (same as DEMO_MODE=true)")

    commands.add_parser(
        "worker", help="claim and run caption jobs (needs REDIS_URL; serving nodes set RUN_JOBS=workers)"
    )

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply every Alembic migration to DATABASE_URL")

    users = commands.add_parser("users", help="users").add_subparsers(dest="action", required=True)
    add_user = users.add_parser("add", help="add a user")
    add_user.add_argument("username")
    add_user.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    add_user.add_argument("--inactive", action="store_true")

    sessions = commands.add_parser("sessions", help="sessions").add_subparsers(dest="action", required=True)
    issue = sessions.add_parser("issue", help="issue a session; prints JSON with cookie name, id, CSRF token, expiry")
    issue.add_argument("username")
    issue.add_argument("--ttl", type=float, help="lifetime in seconds (default: SESSION_TTL_SECONDS)")
    revoke = sessions.add_parser("revoke", help="revoke a session; its sockets are disconnected")
    revoke.add_argument("session_id")

    platforms = commands.add_parser("platforms", help="platform connections").add_subparsers(
        dest="action", required=True
    )
    add_platform = platforms.add_parser("add", help="connect a user to a Pixelfed or Mastodon instance")
    add_platform.add_argument("username")
    add_platform.add_argument("--name", required=True)
    add_platform.add_argument("--type", choices=[t.value for t in PlatformType], default=PlatformType.PIXELFED.value)
    add_platform.add_argument("--url", required=True, help="instance URL, e.g. https://pixelfed.social")
    add_platform.add_argument(
        "--token", help="the account's access token, stored encrypted (needs PLATFORM_TOKEN_KEY); '-' reads stdin"
    )

    keys = commands.add_parser("keys", help="keys").add_subparsers(dest="action", required=True)
    keys.add_parser("new", help="print a new PLATFORM_TOKEN_KEY")

    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="action", required=True)
    demo.add_parser("seed", help="add the demo user and admin with their demo platforms")
    cli_tools.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = bootstrap.Settings()
    configure_logging(settings.log_level, settings.log_format, settings.node_id)
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "keys":
        print(bootstrap.new_token_key())
        return 0
    if args.command == "worker":
        return asyncio.run(_work(settings))
    if args.command in cli_tools.COMMANDS:
        return asyncio.run(cli_tools.run(args, settings))
    try:
        return asyncio.run(_run_command(settings, args))
    except DomainError as err:
        print(json.dumps({"error_code": err.code.value, "error_message": err.message, **err.details}), file=sys.stderr)
        return 1


def _serve(settings: bootstrap.Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.flask_host
    port = settings.flask_port if args.port is None else args.port
    listener = None
    if port == 0:  # the OS picks a free port, bound once here so the default origins below name the real one
        listener = socket.create_server((host, 0))
        port = listener.getsockname()[1]
    # The default allowed origin is the served address, so pages served here can open sockets.
    update: dict[str, Any] = {"flask_host": host, "flask_port": port}
    if args.demo:
        update["demo_mode"] = True
    settings = settings.model_copy(update=update)
    app = bootstrap.build_app(bootstrap.build_container(settings))
    print(f"vedfolnir-realtime serving on http://{host}:{port} (Socket.IO at /socket.io/)", flush=True)
    logged: dict[str, Any] = {
        "print": _announce_bound,
        "access_log": logging.getLogger(ACCESS_LOGGER),
        "access_log_class": access_logger(app.get(METRICS_KEY)),
    }
    if listener is not None:
        web.run_app(app, sock=listener, **logged)
    else:
        web.run_app(app, host=host, port=port, **logged)
    return 0


def _announce_bound(text: str) -> None:
    """aiohttp's start-up line names the bound addresses: the real port when --port 0 was asked for."""
    for url in re.findall(r"https?://[^\s,]+", text):
        print(f"vedfolnir-realtime listening on {url}", flush=True)


async def _work(settings: bootstrap.Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await bootstrap.run_worker(settings, stop)
    return 0


async def _run_command(settings: bootstrap.Settings, args: argparse.Namespace) -> int:
    container = bootstrap.build_container(settings)
    actions: dict[tuple[str, str], Callable[[bootstrap.Container], Awaitable[Any]]] = {
        ("db", "upgrade"): lambda c: bootstrap.upgrade_database(settings),
        ("users", "add"): lambda c: c.add_user()(args.username, Role(args.role), not args.inactive),
        ("sessions", "issue"): lambda c: c.issue_session()(args.username, args.ttl),
        ("sessions", "revoke"): lambda c: c.revoke_session()(args.session_id),
        ("platforms", "add"): lambda c: _add_platform(c, args),
        ("demo", "seed"): lambda c: c.seed_demo()(),
    }
    async with bootstrap.running(container):
        result = await actions[(args.command, args.action)](container)
    _print(args, result, settings)
    return 0 if result is not False else 1


async def _add_platform(container: bootstrap.Container, args: argparse.Namespace) -> Any:
    user = await container.users().get_by_username(args.username)
    if user is None:
        print(f"no such user: {args.username}", file=sys.stderr)
        return False
    if args.token is None:
        return await container.platforms().add(user.id, args.name, PlatformType(args.type), args.url)
    token = sys.stdin.readline().strip() if args.token == "-" else args.token
    return await container.connect_platform()(user.id, args.name, PlatformType(args.type), args.url, token)


def _print(args: argparse.Namespace, result: Any, settings: bootstrap.Settings) -> None:
    if args.command == "sessions" and args.action == "issue":
        print(json.dumps(session_json(result, settings.session_cookie_name)))
    elif args.command == "sessions":
        print(json.dumps({"session_id": args.session_id, "revoked": bool(result)}))
    elif args.command == "users":
        print(
            json.dumps(
                {"id": result.id, "username": result.username, "role": result.role.value, "active": result.active}
            )
        )
    elif args.command == "platforms" and result is not False:
        fields = {"id": result.id, "user_id": result.user_id, "name": result.name, "status": result.status.value}
        print(json.dumps(fields))
    elif args.command == "demo":
        print(json.dumps([{"id": u.id, "username": u.username, "role": u.role.value} for u in result]))
    elif args.command == "db":
        print(f"database at {settings.database_url} is at the latest migration")


if __name__ == "__main__":
    sys.exit(main())
