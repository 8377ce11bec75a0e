"""Our server, built by bootstrap exactly as served, plus bench users/sessions and a broadcast trigger."""

from __future__ import annotations

import argparse
import json
from typing import Any

from aiohttp import web
from common import BACKLOG, BROADCAST_EVENT, BROADCAST_ROOM, HOST, add_bench_routes, raise_nofile, write_text

import bootstrap
from domain.access import USER_NAMESPACE
from domain.identity import Role


def settings(args: argparse.Namespace) -> bootstrap.Settings:
    return bootstrap.ExplicitSettings(
        database_url=args.database_url or f"sqlite+aiosqlite:///{args.db_dir}/bench.db",
        redis_url=args.redis_url,
        redis_channel=args.redis_channel,
        node_id=f"bench-{args.port}",
        demo_mode=True,
        rate_limit_messages=10**9,  # every event is counted by the limiter, none is refused
        max_connections_per_user=100_000,
        connect_attempts_per_hour=10**9,
        handshakes_per_ip_per_minute=10**9,
        system_status_interval=3600,
        session_check_interval=3600,
        recovery_enabled=not args.no_recovery,
    )


def build(args: argparse.Namespace) -> web.Application:
    container = bootstrap.build_container(settings(args))
    app = bootstrap.build_app(container)
    role = Role(args.role)

    async def issue_sessions(_app: web.Application) -> None:
        """Runs after bootstrap's own startup hook (database migrated, demo seeded), before the port opens."""
        if args.users == 0:  # a second node: the first one issued the sessions in the shared database
            write_text(args.sessions_out, "[]")
            return
        add_user, issue = container.add_user(), container.issue_session()
        issued: list[dict[str, Any]] = []
        for u in range(args.users):
            user = await add_user(f"bench_{role.value}_{u}", role)
            for _ in range(args.sessions_per_user):
                session = await issue(user.username, 3600)
                issued.append({"session_id": session.id, "csrf_token": session.csrf_token, "user_id": user.id})
        write_text(args.sessions_out, json.dumps(issued))

    app.on_startup.append(issue_sessions)
    outbox, publisher = container.outbox(), container.publisher()

    async def broadcast(data: dict[str, Any]) -> None:
        # What Outbox.to_admins / to_user do (stamp, then publish), addressed to one room on "/".
        payload = outbox.stamp(dict(data))
        await publisher.publish(BROADCAST_EVENT, payload, namespace=USER_NAMESPACE, room=BROADCAST_ROOM)

    add_bench_routes(app, broadcast, args.profile)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db-dir", required=True)
    parser.add_argument("--sessions-out", required=True, help="JSON list of {session_id, csrf_token, user_id}")
    parser.add_argument("--role", default=Role.VIEWER.value, choices=[r.value for r in Role])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--sessions-per-user", type=int, default=1)
    parser.add_argument("--profile", help="write cProfile stats of the measured phase here")
    parser.add_argument("--database-url", help="default: a SQLite file in --db-dir")
    parser.add_argument("--redis-url", help="Redis mode (fleet-wide limits, the Redis manager)")
    parser.add_argument("--redis-channel", default="vedfolnir-bench")
    parser.add_argument("--no-recovery", action="store_true", help="RECOVERY_ENABLED=false")
    args = parser.parse_args()
    raise_nofile()
    web.run_app(build(args), host=HOST, port=args.port, print=None, access_log=None, backlog=BACKLOG)


if __name__ == "__main__":
    main()
