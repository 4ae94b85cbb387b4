"""The JSON Schema of ``results.json`` (``"schema": "otelagents.profile/v1"``).

Every latency is in seconds. A summary (``ttft_s``, ``ttfv_s``, ``itl_s``, ``tpot_s``, ``e2e_s``) is exact
over the level's successful requests (``itl_s``: over every gap between output chunks); with no sample,
its ``count`` is 0 and the other figures are ``null``.
"""

from __future__ import annotations

from typing import Any

from ._stats import SUMMARY_KEYS

_NUMBER_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}

SUMMARY: dict[str, Any] = {
    "type": "object",
    "required": list(SUMMARY_KEYS),
    "additionalProperties": False,
    "properties": {key: (_COUNT if key == "count" else _NUMBER_OR_NULL) for key in SUMMARY_KEYS},
}

RUN: dict[str, Any] = {
    "type": "object",
    "required": ["concurrency", "rate", "requests", "completed", "errors", "errors_by_type", "duration_s",
                 "requests_per_s", "output_tokens", "output_tokens_per_s", "ttft_s", "ttfv_s", "itl_s", "tpot_s",
                 "e2e_s", "goodput", "slowest"],
    "additionalProperties": False,
    "properties": {
        "concurrency": {"type": "integer", "minimum": 1, "description": "requests in flight at most"},
        "rate": {"type": ["number", "null"], "description": "requests released per second; null: all at once"},
        "requests": {"type": "integer", "minimum": 1},
        "completed": _COUNT,
        "errors": _COUNT,
        "errors_by_type": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                           "description": "failed requests by exception class name"},
        "duration_s": {"type": "number", "minimum": 0},
        "requests_per_s": _NUMBER_OR_NULL,
        "output_tokens": _COUNT,
        "output_tokens_per_s": _NUMBER_OR_NULL,
        "ttft_s": SUMMARY, "ttfv_s": SUMMARY, "itl_s": SUMMARY, "tpot_s": SUMMARY, "e2e_s": SUMMARY,
        "goodput": {
            "type": ["object", "null"],
            "required": ["slo", "requests", "requests_per_s", "fraction"],
            "additionalProperties": False,
            "properties": {
                "slo": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
                "requests": _COUNT,
                "requests_per_s": _NUMBER_OR_NULL,
                "fraction": _NUMBER_OR_NULL,
            },
        },
        "slowest": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "e2e_s", "ttft_s", "error", "trace_id"],
                "additionalProperties": False,
                "properties": {
                    "index": _COUNT, "e2e_s": {"type": "number"}, "ttft_s": _NUMBER_OR_NULL,
                    "error": {"type": ["string", "null"]},
                    "trace_id": {"type": ["string", "null"], "pattern": "^[0-9a-f]{32}$"},
                },
            },
        },
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "otelagents profile results",
    "type": "object",
    "required": ["schema", "created", "target", "settings", "records_file", "runs"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": "otelagents.profile/v1"},
        "created": {"type": "string", "description": "when the profile finished (ISO 8601, UTC)"},
        "target": {
            "type": "object",
            "required": ["base_url", "model", "api", "scenario"],
            "properties": {
                "base_url": {"type": ["string", "null"], "description": "null: the offline scripted model"},
                "model": {"type": "string"}, "api": {"enum": ["responses", "chat_completions"]},
                "scenario": {"type": "string"},
            },
        },
        "settings": {
            "type": "object",
            "required": ["concurrency", "rate", "arrival", "seed", "requests", "max_tokens", "slo", "warmup"],
            "properties": {
                "concurrency": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                "rate": {"type": ["number", "null"]}, "requests": {"type": "integer", "minimum": 1},
                "arrival": {"enum": ["constant", "poisson"]}, "seed": {"type": "integer"},
                "max_tokens": {"type": ["integer", "null"]},
                "slo": {"type": ["object", "null"]}, "warmup": _COUNT,
            },
        },
        "records_file": {"type": "string", "description": "the raw per-request records (JSON lines), beside it"},
        "interrupted": {"const": True, "description": "present when the profile was cut short: the runs that "
                                                      "finished"},
        "runs": {"type": "array", "items": RUN, "minItems": 1},
    },
}

RECORD: dict[str, Any] = {
    "type": "object",
    "required": ["index", "concurrency", "start_s", "e2e_s", "ttft_s", "ttfv_s", "tpot_s", "itl_s", "output_tokens",
                 "output_chunks", "model_calls", "error", "error_message", "trace_id"],
    "additionalProperties": False,
    "properties": {
        "index": _COUNT, "concurrency": {"type": "integer", "minimum": 1}, "start_s": {"type": "number"},
        "e2e_s": {"type": "number"}, "ttft_s": _NUMBER_OR_NULL, "ttfv_s": _NUMBER_OR_NULL,
        "tpot_s": _NUMBER_OR_NULL, "itl_s": {"type": "array", "items": {"type": "number"}},
        "output_tokens": _COUNT, "output_chunks": _COUNT, "model_calls": _COUNT,
        "error": {"type": ["string", "null"]}, "error_message": {"type": ["string", "null"]},
        "trace_id": {"type": ["string", "null"]},
    },
}
"""One line of ``requests.jsonl``."""
