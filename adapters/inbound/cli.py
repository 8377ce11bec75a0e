"""The `vedfolnir-realtime` command line's arguments and printed answers (entrypoints/cli.py runs the commands)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.inbound import cli_tools
from adapters.inbound.http_api import session_json
from domain.identity import Role
from domain.platforms import PlatformType


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vedfolnir-realtime", description="serve, migrate, manage users, sessions and platform connections"
    )
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


def print_result(args: argparse.Namespace, result: Any, cookie_name: str, database_url: str) -> None:
    """Every command answers with one line of JSON on stdout (`db upgrade`: one sentence)."""
    if args.command == "sessions" and args.action == "issue":
        print(json.dumps(session_json(result, cookie_name)))
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
        print(f"database at {database_url} is at the latest migration")
