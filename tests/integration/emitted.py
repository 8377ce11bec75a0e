"""Every payload the server sent to a test client during the run, to check against the AsyncAPI document at the end."""

from __future__ import annotations

import os
from typing import Any

import jsonschema

# (namespace, event, payload, test id) of everything the harness clients received.
RECORDED: list[tuple[str, str, Any, str]] = []
MAX_RECORDED = 200_000  # a bound: a flood test must not grow this without limit


def record(namespace: str, event: str, data: Any) -> None:
    if len(RECORDED) < MAX_RECORDED:
        RECORDED.append((namespace, event, data, os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]))


def violations(records: list[tuple[str, str, Any, str]] | None = None) -> list[str]:
    """One line per recorded payload that the AsyncAPI document does not allow (event unknown on its namespace, or shape)."""
    from adapters.inbound.api_docs.asyncapi import CHANNELS, asyncapi_document, payload_schemas

    document = asyncapi_document()
    schemas = payload_schemas()
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    found: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for namespace, event, data, test in RECORDED if records is None else records:
        channel = CHANNELS.get(namespace)
        if channel is None or event not in document["channels"][channel]["messages"]:
            problem = f"{event!r} is not an event of namespace {namespace!r} in domain/event_catalogue.py"
        else:
            error = next(iter(validators[event].iter_errors(data)), None)
            if error is None:
                continue
            problem = f"{event} payload: {error.message} at {list(error.absolute_path)}"
        if (event, problem, namespace) not in seen:  # one line per distinct problem
            seen.add((event, problem, namespace))
            found.append(f"{test}: {problem}")
    return found
