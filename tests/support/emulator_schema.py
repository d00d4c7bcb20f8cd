"""JSON-schema instances for the emulator's tool calls and structured replies, and a tiny validator.

The emulator must answer a forced tool call or a ``json_schema`` response format with arguments that
*validate* and, where the prompt carries them, with the values the prompt asks for (the standard
LangChain suites ask ``magic_function(3)`` and expect ``{"input": 3}``). So values come from
:class:`ValueHints` pulled out of the last user message: numbers in order, quoted text, then
capitalised phrases; anything left over gets a plain deterministic default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ValueHints", "instance_for", "validation_errors"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|\"([^\"\n]+?)\"|\u201c([^\u201d\n]+?)\u201d|\u2018([^\u2019\n]+?)\u2019"
)
_PROPER = re.compile(r"\b[A-Z][\w'-]*(?:,?\s+[A-Z][\w'-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+)$")
_MAX_DEPTH = 6  # past this, objects get only their required keys and arrays their minimum length
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
}


@dataclass
class ValueHints:
    """Values a prompt offers, handed out in order of appearance (each at most once)."""

    text: str = ""
    numbers: list[float] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)  # quoted text first, then capitalised phrases
    quoted: list[str] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> ValueHints:
        """Numbers, quoted strings and capitalised phrases (not sentence-initial) of ``text``."""
        numbers = [float(m.group()) for m in _NUMBER.finditer(text)]
        quotes = list(_QUOTED.finditer(text))
        quoted = [next(g for g in m.groups() if g) for m in quotes]
        proper = [
            m.group().rstrip(",")
            for m in _PROPER.finditer(text)
            if not _SENTENCE_START.search(text[: m.start()])
            and m.group() != "I"
            and not any(q.start() <= m.start() < q.end() for q in quotes)
        ]
        return cls(text=text, numbers=numbers, strings=quoted + proper, quoted=quoted)

    def take_number(self) -> float | None:
        return self.numbers.pop(0) if self.numbers else None

    def take_string(self) -> str | None:
        return self.strings.pop(0) if self.strings else None

    def mentions(self, value: object) -> bool:
        return str(value).lower() in self.text.lower()


def instance_for(schema: Any, hints: ValueHints | None = None, *, name: str = "value") -> Any:
    """A deterministic instance of ``schema`` (draft 2020-12 subset), preferring prompt values."""
    root = schema if isinstance(schema, Mapping) else {}
    return _instance(schema, hints or ValueHints(), root, 0, name)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 32:  # a cycle of bare refs must not hang the server
        ref = str(schema["$ref"])
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, Mapping) else siblings
        seen += 1
    return schema


def _first_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        concrete = [t for t in declared if t != "null"]
        return str(concrete[0]) if concrete else "null"
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _instance(
    schema: Any, hints: ValueHints, root: Mapping[str, Any], depth: int, name: str
) -> Any:
    if schema is True or not isinstance(schema, Mapping):
        return f"emulated {name}"
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        options = list(schema["enum"])
        return next((o for o in options if o is not None and hints.mentions(o)), options[0])
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            options = [
                _resolve(o, root) if isinstance(o, Mapping) else o for o in schema[combinator]
            ]
            chosen = next((o for o in options if not _is_null(o)), options[0])
            return _instance(chosen, hints, root, depth, name)
    if schema.get("allOf"):
        return _instance(_merge_all_of(schema, root), hints, root, depth, name)
    kind = _first_type(schema)
    if kind == "object":
        return _object(schema, hints, root, depth, name)
    if kind == "array":
        return _array(schema, hints, root, depth, name)
    if kind in ("integer", "number"):
        return _number(schema, hints, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, hints, name)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _merge_all_of(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = _resolve(part, root) if isinstance(part, Mapping) else {}
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _object(
    schema: Mapping[str, Any], hints: ValueHints, root: Mapping[str, Any], depth: int, name: str
) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    keys = [k for k in properties if depth < _MAX_DEPTH or k in required]
    result = {k: _instance(properties[k], hints, root, depth + 1, k) for k in keys}
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, Mapping) and depth < _MAX_DEPTH:
        result["key"] = _instance(extra, hints, root, depth + 1, "key")
    return result


def _array(
    schema: Mapping[str, Any], hints: ValueHints, root: Mapping[str, Any], depth: int, name: str
) -> list[Any]:
    prefix = schema.get("prefixItems") or (
        schema["items"] if isinstance(schema.get("items"), list) else []
    )
    if prefix:
        return [_instance(s, hints, root, depth + 1, name) for s in prefix]
    low = int(schema.get("minItems", 0))
    high = schema.get("maxItems")
    count = max(low, 1 if depth < _MAX_DEPTH else 0)
    if high is not None:
        count = min(count, int(high))
    items = schema.get("items", {})
    return [_instance(items, hints, root, depth + 1, name) for _ in range(count)]


def _number(schema: Mapping[str, Any], hints: ValueHints, *, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    hinted = hints.take_number()
    value: float = hinted if hinted is not None else (low if low is not None else 1)
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + 1
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        value = schema["exclusiveMaximum"] - 1
    step = schema.get("multipleOf")
    if step:
        value = round(value / step) * step
    return int(value) if integer else value


def _string(schema: Mapping[str, Any], hints: ValueHints, name: str) -> str:
    fmt = schema.get("format")
    value = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if value is None:
        value = hints.take_string() or f"emulated {name}"
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value += "x" * (low - len(value))
    if high is not None:
        value = value[: int(high)]
    return value


_TYPE_CHECKS: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validation_errors(
    instance: Any, schema: Any, *, root: Any = None, path: str = "$"
) -> list[str]:
    """Why ``instance`` does not validate against ``schema`` (empty when it does).

    Covers the keywords the emulator generates for: type, enum, const, properties, required,
    additionalProperties, items/prefixItems, min/maxItems, anyOf/oneOf/allOf, $ref, numeric and
    length bounds. Enough to prove replies follow the requested schema; not a full validator.
    """
    if schema is True or not isinstance(schema, Mapping):
        return []
    root = schema if root is None else root
    schema = _resolve(schema, root)
    errors: list[str] = []
    declared = schema.get("type")
    if declared is not None:
        kinds = declared if isinstance(declared, list) else [declared]
        if not any(_TYPE_CHECKS.get(k, lambda v: True)(instance) for k in kinds):
            return [f"{path}: expected type {declared}, got {type(instance).__name__}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: expected const {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} not in enum {schema['enum']!r}")
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema and not any(
            not validation_errors(instance, o, root=root, path=path) for o in schema[combinator]
        ):
            errors.append(f"{path}: matches no {combinator} option")
    for part in schema.get("allOf", []):
        errors += validation_errors(instance, part, root=root, path=path)
    if isinstance(instance, dict):
        errors += _object_errors(instance, schema, root, path)
    if isinstance(instance, list):
        errors += _array_errors(instance, schema, root, path)
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{path}: {instance} < minimum {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{path}: {instance} > maximum {schema['maximum']}")
    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than minLength {schema['minLength']}")
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            errors.append(f"{path}: longer than maxLength {schema['maxLength']}")
    return errors


def _object_errors(
    instance: dict[str, Any], schema: Mapping[str, Any], root: Any, path: str
) -> list[str]:
    errors = [
        f"{path}: missing required key {k!r}"
        for k in schema.get("required", [])
        if k not in instance
    ]
    properties = schema.get("properties") or {}
    for key, value in instance.items():
        if key in properties:
            errors += validation_errors(value, properties[key], root=root, path=f"{path}.{key}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{path}: unexpected key {key!r} (additionalProperties is false)")
        elif isinstance(schema.get("additionalProperties"), Mapping):
            errors += validation_errors(
                value, schema["additionalProperties"], root=root, path=f"{path}.{key}"
            )
    return errors


def _array_errors(
    instance: list[Any], schema: Mapping[str, Any], root: Any, path: str
) -> list[str]:
    errors: list[str] = []
    if len(instance) < schema.get("minItems", 0):
        errors.append(f"{path}: fewer than minItems {schema['minItems']}")
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        errors.append(f"{path}: more than maxItems {schema['maxItems']}")
    prefix = schema.get("prefixItems") or (
        schema["items"] if isinstance(schema.get("items"), list) else None
    )
    for index, item in enumerate(instance):
        item_schema = (
            (prefix[index] if index < len(prefix) else {}) if prefix else schema.get("items")
        )
        if item_schema is not None:
            errors += validation_errors(item, item_schema, root=root, path=f"{path}[{index}]")
    return errors
