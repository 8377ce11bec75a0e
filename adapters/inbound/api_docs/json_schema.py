"""JSON Schema (draft 2020-12, as OpenAPI 3.1 and AsyncAPI 3.0 use it) of the domain's field rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.validation import ENVELOPE_SCHEMA, Field


def field_schema(rule: Field) -> dict[str, Any]:
    kind = rule.kind
    if kind == "str":
        schema: dict[str, Any] = {"type": "string", "maxLength": rule.max_length}
        if rule.choices is not None:
            schema["enum"] = sorted(rule.choices)
        if rule.pattern is not None:
            schema["pattern"] = f"^(?:{rule.pattern.pattern})$"
        return schema
    if kind in ("int", "number"):
        schema = {"type": "integer" if kind == "int" else "number"}
        if rule.minimum is not None:
            schema["minimum"] = rule.minimum
        if rule.maximum is not None:
            schema["maximum"] = rule.maximum
        return schema
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "timestamp":
        return {"type": "string", "format": "date-time"}
    if kind == "ids":
        item: dict[str, Any] = {"type": "string"}
        if rule.pattern is not None:
            item["pattern"] = f"^(?:{rule.pattern.pattern})$"
        return {"type": "array", "items": item, "minItems": 1, "maxItems": rule.max_length}
    raise ValueError(f"no JSON Schema for field kind {kind!r}")


def object_schema(fields: Mapping[str, Field], *, envelope: bool = True) -> dict[str, Any]:
    """What `domain.validation.validate(fields, data)` accepts: these fields (and the envelope's), nothing else."""
    # An optional field may also be null: validate() treats null as absent.
    properties = {
        name: field_schema(rule) if rule.required else {"anyOf": [field_schema(rule), {"type": "null"}]}
        for name, rule in fields.items()
    }
    if envelope:
        for name, rule in ENVELOPE_SCHEMA.items():
            properties.setdefault(name, {"anyOf": [field_schema(rule), {"type": "null"}]})
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = sorted(name for name, rule in fields.items() if rule.required)
    if required:
        schema["required"] = required
    return schema
