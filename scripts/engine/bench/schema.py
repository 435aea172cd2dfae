"""The one schema of a result file (``results/<machine>/<case>.json``), checked with jsonschema.

Every reader goes through ``store.load``, which applies it, so the CLI verbs
and the build agree on what is valid. It types the core fields the engine
reads and stays open to everything else (``additionalProperties`` is left
true): new manifest fields, new per-run fields, new mode strings and case
kinds are valid without a schema change.

Three limits hold beyond the types (docs/method.md#result-files states them too):

* ``MAX_RESULT_BYTES``: no result file is read past it (``store.load`` refuses it unread);
* a run is listed once: two runs of one framework, mode, batch size, width, repeat and
  variant (a carried-over run apart from a new one) make the file invalid;
* the top level holds only the keys ``RESULT`` names (``unknown_keys``): the contribution
  check rejects others, ``regen.py check`` warns about them. Nested objects stay open.
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
        "superseded": _STRING,
        "block": {"type": "object", "properties": {"position": _COUNT, "size": _COUNT}},
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
        # Which rounds went to which configurations after screening (engine.bench.adaptive).
        "allocation": {"type": "object", "properties": {"rounds": {"type": "array"}}},
    },
}

# The largest real result file when this was set: 272,125 bytes (the CPU builder's default-profile
# headline.json, 174 runs). The full profile's largest, estimated from its plan (inference: 75
# processes of 3,000 timed steps), is about 3.2 MB. 16 MiB is five times that and sixty times the
# largest real one: a contribution gets there only by carrying something that is no result.
MAX_RESULT_BYTES = 16 << 20
# What makes two runs the same run (the harness never writes one twice).
RUN_IDENTITY = ("framework", "mode", "batch_size", "width", "repeat", "variant", "carried_over")

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
    return [_explain(error) for error in errors] or duplicate_runs(data)


def duplicate_runs(data: dict) -> list[str]:
    """Each run that repeats an earlier one (same RUN_IDENTITY), named by both indices.

    >>> run = {"framework": "torch", "mode": "eager", "batch_size": 128, "width": 1, "repeat": 0, "ok": False}
    >>> duplicate_runs({"runs": [run, {**run, "repeat": 1}, run]})
    ['runs[2]: the same run as runs[0] (torch eager batch 128 width 1 repeat 0); a result lists each run once']
    """
    first: dict[tuple, int] = {}
    found = []
    for index, run in enumerate(data.get("runs", [])):
        identity = tuple(run.get(k) for k in RUN_IDENTITY)
        if identity in first:
            words = " ".join(f"{k.replace('_size', '')} {run[k]}" if k not in ("framework", "mode") else str(run[k])
                             for k in RUN_IDENTITY if run.get(k) is not None)
            found.append(f"runs[{index}]: the same run as runs[{first[identity]}] ({words}); "
                         "a result lists each run once")
        else:
            first[identity] = index
    return found


def unknown_keys(data: dict) -> list[str]:
    """Top-level keys the schema does not name (``RESULT["properties"]``), sorted.

    >>> unknown_keys({"case": "x", "runs": [], "padding": "x" * 9})
    ['padding']
    """
    return sorted(set(data) - set(RESULT["properties"]))
