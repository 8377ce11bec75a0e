"""The python-socketio/python-engineio internals we override or copy have not changed since we read them.

Every upstream method one of our adapter classes redefines is found automatically; the ones we copy or call
as internals are listed in RELIED_ON. Each is fingerprinted (normalised source); a new upstream release that
changes one fails here, naming it. What each is for: docs/upstream-overrides.md.
"""

from __future__ import annotations

import inspect
from importlib import metadata
from pathlib import Path

from tests.unit.drift import current_sources, discover_overrides, drifted, fingerprint, resolve

DOC = Path(__file__).resolve().parents[2] / "docs" / "upstream-overrides.md"

# Read for python-socketio 5.18.1 / python-engineio 4.15.1 (pinned with ~= in pyproject.toml).
RECORDED_FOR = {"python-socketio": "5.18", "python-engineio": "4.15"}

# Internals our code copies, calls, or whose behaviour it relies on without overriding them.
RELIED_ON = {
    "socketio.async_server.AsyncServer._handle_event": "dispatches the EVENTs GuardedPacket renamed to our catch-all",
    "socketio.packet.Packet.encode": "encode_event builds the same '2/ns,' text by hand",
    "socketio.packet.Packet.reconstruct_binary": "DirectRedisManager._handle_emit rebuilds binary payloads",
    "socketio.base_manager.BaseManager.get_participants": "deliver_locally iterates it",
    "socketio.async_pubsub_manager.AsyncPubSubManager._thread": "drives our _listen; our close() cancels it",
    "engineio.async_socket.AsyncSocket.send": "deliver_locally puts on sock.queue what send would",
    "engineio.async_socket.AsyncSocket._upgrade_websocket": "constructs _async['websocket'] (GuardedWebSocket)",
    "engineio.async_socket.AsyncSocket._websocket_handler": "reads GuardedWebSocket.wait, writes via poll/send",
    "engineio.async_server.AsyncServer._handle_connect": "creates the AsyncSocket whose class we swap",
    "engineio.async_server.AsyncServer.handle_request": "after a WebSocket, reads only REQUEST_METHOD of environ",
    "engineio.async_socket.AsyncSocket.handle_get_request": "reads no environ after the WebSocket returns",
    "engineio.async_socket.AsyncSocket._send_ping": "QuickPollSocket.ping_due does what it does after its sleep",
    "engineio.async_socket.AsyncSocket.receive": "calls schedule_ping on each PONG: the PingClock's input",
    "engineio.async_socket.AsyncSocket.close": "BudgetQueue drops a socket with close(wait=False, abort=True, ...)",
    "socketio.base_manager.BaseManager.sid_from_eio_sid": "GuardedServer maps an engine socket to its sid",
    "socketio.base_manager.BaseManager.eio_sid_from_sid": "SocketGateway reads a connection's physical socket",
}

RECORDED = {
    "engineio.async_drivers.aiohttp.WebSocket.__call__": "a969eeea92fe3ec1",
    "engineio.async_drivers.aiohttp.WebSocket.send": "1877fcf988867dd2",
    "engineio.async_drivers.aiohttp.WebSocket.wait": "70bd361b65f49eb7",
    "engineio.async_server.AsyncServer._handle_connect": "a47d4a5c5e429da3",
    "engineio.async_server.AsyncServer.create_queue": "543bcd6f4eecbaa3",
    "engineio.async_server.AsyncServer.handle_request": "7a4971c7500e6422",
    "engineio.async_socket.AsyncSocket._send_ping": "3a68852b51299992",
    "engineio.async_socket.AsyncSocket._upgrade_websocket": "35cbe5112b598f6a",
    "engineio.async_socket.AsyncSocket._websocket_handler": "2822186d44689f3a",
    "engineio.async_socket.AsyncSocket.close": "18bdb592eb77a06d",
    "engineio.async_socket.AsyncSocket.handle_get_request": "f7daa9ad7adfb982",
    "engineio.async_socket.AsyncSocket.handle_post_request": "f922c1c161540508",
    "engineio.async_socket.AsyncSocket.poll": "e65ca9f757c5c6ec",
    "engineio.async_socket.AsyncSocket.receive": "88ce7b48e2f00753",
    "engineio.async_socket.AsyncSocket.schedule_ping": "004bb5cd7ba28d22",
    "engineio.async_socket.AsyncSocket.send": "2e6c0146d180bd97",
    "socketio.async_manager.AsyncManager.emit": "73f2199d8288b596",
    "socketio.async_pubsub_manager.AsyncPubSubManager._handle_emit": "46370549f53198b4",
    "socketio.async_pubsub_manager.AsyncPubSubManager._thread": "c13cd40a1791f7d6",
    "socketio.async_pubsub_manager.AsyncPubSubManager.emit": "463fa36235781c98",
    "socketio.async_redis_manager.AsyncRedisManager.__init__": "186d384129a53d1d",
    "socketio.async_redis_manager.AsyncRedisManager._listen": "0a847633273085b7",
    "socketio.async_redis_manager.AsyncRedisManager._redis_connect": "cae8173d3c3cba60",
    "socketio.async_server.AsyncServer._engineio_server_class": "726f2848023f38ac",
    "socketio.async_server.AsyncServer._handle_connect": "8d039174ea26138b",
    "socketio.async_server.AsyncServer._handle_eio_connect": "3686c5190dfb3d99",
    "socketio.async_server.AsyncServer._handle_eio_message": "f772a451d918e87a",
    "socketio.async_server.AsyncServer._handle_event": "f9d48888b2c4f4b1",
    "socketio.base_manager.BaseManager.eio_sid_from_sid": "15f7ed15a67829bb",
    "socketio.base_manager.BaseManager.get_participants": "ff486d06f687b2d6",
    "socketio.base_manager.BaseManager.sid_from_eio_sid": "930d34915b53bcb0",
    "socketio.packet.Packet.decode": "7bb4fad188333541",
    "socketio.packet.Packet.encode": "c0c942925dd5e295",
    "socketio.packet.Packet.reconstruct_binary": "3b59e0c5cf8529ca",
}


def test_every_override_and_copied_internal_is_recorded() -> None:
    expected = {*discover_overrides(), *RELIED_ON}
    missing = sorted(expected - RECORDED.keys())
    stale = sorted(RECORDED.keys() - expected)
    assert not missing, f"record these upstream methods (python -m tests.unit.drift) and document them: {missing}"
    assert not stale, f"no longer overridden or relied on, drop them from RECORDED and the doc: {stale}"


# Where an override may live: the quarantine, and the two documented seams (client_manager=, serializer=).
QUARANTINE = {
    "adapters.inbound.socketio.engine_patches",
    "adapters.inbound.socketio.local_manager",
    "adapters.inbound.socketio.redis_manager",
    "adapters.inbound.socketio.packets",
}


def test_every_override_is_quarantined() -> None:
    outside = {
        upstream: ours for upstream, ours in discover_overrides().items() if ours.rsplit(".", 1)[0] not in QUARANTINE
    }
    assert not outside, f"move these overrides into adapters/inbound/socketio/engine_patches.py: {outside}"


def test_no_recorded_upstream_method_changed() -> None:
    changed = drifted(RECORDED, current_sources(RECORDED))
    installed = {name: metadata.version(name) for name in RECORDED_FOR}
    assert not changed, (
        f"upstream changed {changed} (installed {installed}, recorded for {RECORDED_FOR}): "
        f"re-read each against our override (see {DOC.name}), then re-record with python -m tests.unit.drift"
    )


def test_the_check_names_a_modified_copy_of_an_upstream_method() -> None:
    name = "socketio.async_server.AsyncServer._handle_eio_message"
    original = inspect.getsource(resolve(name))
    modified = original.replace("packet.CONNECT:", "packet.EVENT:", 1)
    assert modified != original
    sources = current_sources(RECORDED)
    assert drifted(RECORDED, {**sources, name: modified}) == [name]
    assert drifted(RECORDED, {k: v for k, v in sources.items() if k != name}) == [name]  # gone upstream


def test_comments_docstrings_and_formatting_are_not_drift() -> None:
    source = "def f(a, b):\n    '''Doc.'''\n    return a + b  # why\n"
    reformatted = "def f(a,\n      b):\n    # a new comment\n    return (a + b)\n"
    assert fingerprint(source) == fingerprint(reformatted)
    assert fingerprint(source) != fingerprint(source.replace("a + b", "a - b"))


def test_every_recorded_method_is_documented() -> None:
    text = DOC.read_text()
    undocumented = [name for name in RECORDED if f"`{name}`" not in text]
    assert not undocumented, f"explain these in {DOC.name}: {undocumented}"
