"""Debian's nginx with the shipped deploy/nginx.conf in front of test nodes, and clients from chosen loopback addresses."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.integration.databases import fresh_postgres_database
from tests.integration.emitted import record as record_emitted
from tests.integration.harness import Client, Inbox
from tests.integration.processes import prepared_fleet

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_missing() -> str | None:
    if not Path(NGINX).exists():
        return "nginx is not installed: run `make nginx` (.ci/nginx.sh)"
    return None


def site_config(upstreams: list[int], port: int) -> str:
    """The shipped file with only the two node addresses and the listen port replaced."""
    text = SHIPPED.read_text()
    for shipped, port_of_node in zip(("127.0.0.1:5000", "127.0.0.1:5001"), upstreams, strict=True):
        assert text.count(shipped) == 1, f"deploy/nginx.conf no longer names {shipped} once"
        text = text.replace(shipped, f"127.0.0.1:{port_of_node}")
    assert text.count("listen 8080;") == 1
    return text.replace("listen 8080;", f"listen 127.0.0.1:{port};")


@contextlib.contextmanager
def nginx(prefix: Path, upstreams: list[int]) -> Iterator[str]:
    """nginx as a non-daemon child in a temporary prefix, on a free port; yields its URL."""
    prefix.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (prefix / "site.conf").write_text(site_config(upstreams, port))
    temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    main = f"""
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {prefix}/site.conf;
}}
"""
    (prefix / "nginx.conf").write_text(main)
    check = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert proc.poll() is None, (prefix / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def fleet_database(**extra: str) -> AsyncIterator[dict[str, str]]:
    """Environment of two nodes on one Postgres database and one Redis channel, migrated and seeded."""
    channel = f"vrt-proxy-{uuid.uuid4().hex[:10]}"
    async with fresh_postgres_database() as url:
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIS_CHANNEL": channel,
            "AUTO_MIGRATE": "false",
            "API_TOKEN": "proxy-token",
            "TRUSTED_PROXIES": "127.0.0.1",
            "DEMO_POSTS": "8",
            "DEMO_CAPTION_SECONDS": "0.2",
            "DEMO_PAGE_DELAY": "0",
            "DEMO_FAILURE_EVERY": "0",
            "SYSTEM_STATUS_INTERVAL": "30",
            "SESSION_CHECK_INTERVAL": "1",
            "CONNECTION_LEASE_SECONDS": "30",
            **extra,
        }
        async with prepared_fleet(env):
            yield env


class PatientClient(socketio.AsyncClient):  # type: ignore[misc]
    """python-socketio's client, waiting 10 s (not its fixed 1 s) for the namespace answer when it reconnects:
    200 clients reconnecting at once to a loaded machine can take longer, like the stock JS client allows."""

    async def connect(self, *args: Any, wait_timeout: float = 10, **kwargs: Any) -> None:
        await super().connect(*args, wait_timeout=wait_timeout, **kwargs)


async def client_from(
    url: str,
    source_ip: str,
    auth: dict[str, Any] | None,
    namespace: str = "/",
    *,
    transports: list[str] | None = None,
    headers: dict[str, str] | None = None,
    reconnection: bool = False,
) -> Client:
    """A python-socketio client whose TCP connections leave from `source_ip` (any 127.x address is loopback)."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source_ip, 0)))
    sio = PatientClient(
        http_session=http, reconnection=reconnection, reconnection_delay=0.5, reconnection_delay_max=2.0
    )
    inbox = Inbox()
    client = Client(sio, namespace, inbox)

    async def on_any(event: str, data: Any = None, *_offset: Any) -> None:
        record_emitted(namespace, event, data)  # checked against the AsyncAPI document at the run's end
        await inbox.put(event, data)

    async def on_connect_error(data: Any = None) -> None:
        client.connect_error = data
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            record_emitted(namespace, "connect_error", data["data"])

    sio.on("*", on_any, namespace=namespace)
    sio.on("connect_error", on_connect_error, namespace=namespace)
    client.http = http  # type: ignore[attr-defined]
    try:
        await sio.connect(
            url,
            namespaces=[namespace],
            auth=auth,
            headers=headers or {},
            transports=transports or ["websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError as exc:
        await http.close()
        raise socketio.exceptions.ConnectionError(f"{exc}: {client.connect_error}") from exc
    return client


async def close_from(client: Client) -> None:
    await client.close()
    await client.http.close()  # type: ignore[attr-defined]
