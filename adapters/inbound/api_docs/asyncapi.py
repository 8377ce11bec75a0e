"""The AsyncAPI 3.0 document of both Socket.IO namespaces, generated from the domain's event catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.inbound.api_docs.json_schema import object_schema
from domain.access import ADMIN_NAMESPACE, USER_NAMESPACE
from domain.event_catalogue import CLIENT_EVENTS, CONNECT_REFUSAL, SERVER_EVENTS, STAMP, EventSpec, Prop

CHANNELS = {USER_NAMESPACE: "userNamespace", ADMIN_NAMESPACE: "adminNamespace"}
CONNECT_ERROR = "connect_error"


def prop_schema(prop: Prop) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": [prop.kind, "null"] if prop.nullable else prop.kind}
    if prop.enum is not None:
        schema["enum"] = sorted(prop.enum) + ([None] if prop.nullable else [])
    if prop.fields is not None:
        schema.update(_object(prop.fields))
    if prop.description:
        schema["description"] = prop.description
    return schema


def _object(fields: Mapping[str, Prop], *, closed: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: prop_schema(p) for name, p in fields.items()},
        "required": [name for name, p in fields.items() if not p.optional],
        "additionalProperties": not closed,
    }


def payload_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema of what a payload of `spec` holds."""
    if spec.sender == "client":
        return object_schema(spec.request or {})
    return _object({**spec.payload, **STAMP}, closed=not spec.open_payload)


def payload_schemas() -> dict[str, dict[str, Any]]:
    """Server event name (and `connect_error`) -> payload schema, for checking what a server really sends."""
    schemas = {spec.name: payload_schema(spec) for spec in SERVER_EVENTS}
    schemas[CONNECT_ERROR] = _object({**CONNECT_REFUSAL, **STAMP}, closed=False)
    return schemas


def asyncapi_document(server_url: str = "http://localhost:5000") -> dict[str, Any]:
    host = server_url.split("://", 1)[-1].rstrip("/")
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {
        key: {
            "address": namespace,
            "title": f"Socket.IO namespace {namespace}",
            "description": _namespace_text(namespace),
            "messages": {},
        }
        for namespace, key in CHANNELS.items()
    }
    operations: dict[str, Any] = {}
    for spec in (*SERVER_EVENTS, *CLIENT_EVENTS):
        messages[spec.name] = {
            "name": spec.name,
            "title": spec.name,
            "summary": spec.summary,
            "contentType": "application/json",
            "payload": payload_schema(spec),
        }
        for namespace in spec.namespaces:
            channel = CHANNELS[namespace]
            channels[channel]["messages"][spec.name] = {"$ref": f"#/components/messages/{spec.name}"}
    messages[CONNECT_ERROR] = {
        "name": CONNECT_ERROR,
        "title": "connect refused",
        "summary": "The data of the stock client's connect_error (err.data) when a connect is refused",
        "contentType": "application/json",
        "payload": payload_schemas()[CONNECT_ERROR],
    }
    for channel in channels.values():
        channel["messages"][CONNECT_ERROR] = {"$ref": f"#/components/messages/{CONNECT_ERROR}"}
    for spec in (*SERVER_EVENTS, *CLIENT_EVENTS):
        for namespace in spec.namespaces:
            channel = CHANNELS[namespace]
            operation: dict[str, Any] = {
                "action": "send" if spec.sender == "server" else "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": spec.summary,
                "messages": [{"$ref": f"#/channels/{channel}/messages/{spec.name}"}],
            }
            if spec.replies:
                operation["reply"] = {
                    "channel": {"$ref": f"#/channels/{channel}"},
                    "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in spec.replies],
                }
            operations[f"{'send' if spec.sender == 'server' else 'receive'}_{spec.name}_{channel}"] = operation
    for channel in channels:
        operations[f"refuse_connect_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": "A refused connect (auth_required, auth_error, limits, CSRF)",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{CONNECT_ERROR}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "vedfolnir-realtime events",
            "version": "1",
            "description": (
                "Socket.IO events of the Vedfolnir real-time service, generated from domain/event_catalogue.py. "
                "Every server payload carries timestamp (and message_id; correlation_id when it answers a client "
                "event that had a correlation_id or message_id). A client event is answered with its reply event and the same payload "
                "as the Socket.IO ack. Strings are HTML-escaped. The HTTP API: /openapi.json."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "realtime": {
                "host": host,
                "pathname": "/socket.io/",
                "protocol": "ws",
                "description": "Socket.IO v5 (Engine.IO v4) over WebSocket or HTTP long-polling; authenticate with the "
                "session cookie or auth {session_id, csrf_token}",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _namespace_text(namespace: str) -> str:
    if namespace == ADMIN_NAMESPACE:
        return "Admins (role admin): system status, alerts, user activity, admin notifications"
    return "Every signed-in user: caption jobs, platforms, notifications, reviews; rooms user_{id}_captions"
