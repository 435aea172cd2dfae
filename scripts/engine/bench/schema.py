"""The one schema of a result file (``results/<machine>/<case>.json``), checked with jsonschema.

Every reader goes through ``store.load``, which applies it, so the CLI verbs
and the build agree on what is valid. It types the core fields the engine
reads and stays open to everything else (``additionalProperties`` is left
true): new manifest fields, new per-run fields, new mode strings and case
kinds are valid without a schema change.
"""

from __future__ import annotations

import reprlib

import jsonschema

_STRING = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}

RUN = {
    "type": "object",
    "required": ["framework", "mode", "batch_size", "width", "ok"],
    "properties": {
        "framework": _STRING,
        "mode": _STRING,
        "batch_size": _COUNT,
        "width": _COUNT,
        "repeat": _COUNT,
        "ok": {"type": "boolean"},
        "noise_check": {"type": "boolean"},
        "carried_over": {"type": "boolean"},
        "variant": _STRING,
        "reason": {"type": ["string", "null"]},
        "wall_s": {"type": "number"},
        "peak_rss_bytes": {"type": ["integer", "null"]},
        "foreign_cores": {"type": ["number", "null"]},
        "busy_cores_before": {"type": ["number", "null"]},
        "result": {
            "type": "object",
            "properties": {"samples_ns": {"type": "array", "items": {"type": "number"}}},
        },
    },
    # A good run carries what the child measured; a failed one says why.
    "if": {"properties": {"ok": {"const": True}}},
    "then": {"required": ["result"]},
    "else": {"required": ["reason"], "properties": {"reason": _STRING}},
}

RESULT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema_version", "case", "profile", "status", "manifest", "code_hash", "runs"],
    "properties": {
        "schema_version": {"type": "integer", "minimum": 1},
        "case": _STRING,
        "title": _STRING,
        "kind": _STRING,
        "claims": {"type": "array", "items": _STRING},
        "profile": _STRING,
        "status": {"enum": ["ok", "partial", "failed"]},
        "code_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "manifest": {
            "type": "object",
            "required": ["machine_id", "versions"],
            "properties": {
                "machine_id": _STRING,
                "versions": {"type": "object", "additionalProperties": _STRING},
                "timestamp": _STRING,
                "device": _STRING,
                "device_label": _STRING,
                "cpu_model": _STRING,
                "usable_cores": {"type": "integer", "minimum": 1},
                "memory_bytes": {"type": ["integer", "null"]},
            },
        },
        "runs": {"type": "array", "items": RUN},
        "failure": {"type": "object", "properties": {"reason": _STRING}},
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(RESULT)
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number"}
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 40
_repr.maxlist = _repr.maxdict = 3
_short = _repr.repr


def _where(error: jsonschema.ValidationError) -> str:
    where = ""
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "the file"


def _explain(error: jsonschema.ValidationError) -> str:
    found = "null" if error.instance is None else \
        f"{_JSON_TYPES.get(type(error.instance), 'a value')} {_short(error.instance)}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{_where(error)}: expected {expected}, found {found}"
    if error.validator == "enum":
        return f"{_where(error)}: expected one of {', '.join(map(repr, error.validator_value))}, found {found}"
    if error.validator == "pattern":
        return f"{_where(error)}: expected a 64-digit lowercase hex hash, found {found}"
    if error.validator == "required":
        return f"{_where(error)}: {error.message}"
    return f"{_where(error)}: {found} fails {error.validator} {_short(error.validator_value)}"


def problems(data: object) -> list[str]:
    """Every way ``data`` breaks the schema, each naming the field at fault (empty when valid)."""
    # A wrong type explains more than what it then lacks, so it comes first.
    errors = sorted(_VALIDATOR.iter_errors(data),
                    key=lambda e: (e.validator != "type", list(map(str, e.absolute_path)), e.validator))
    return [_explain(error) for error in errors]
