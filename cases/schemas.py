"""The JSON bodies the editor sends, as JSON Schema (draft 2020-12), and their parsing.

A body is refused before it is parsed when it is too large or nested too deeply (the
JSON parser recurses), then checked against its endpoint's schema: unknown keys, wrong
types, numbers out of range and oversized lists are refused with a plain sentence. The
schemas bound shapes only; whether a box fits its image is ``cases.editing``'s job.
The shapes are those of ``frontend/src/editor/api.ts``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

#: Largest body accepted (bytes). A cine with a box on each of a thousand frames stays
#: far below it.
MAX_BODY_BYTES = 256 * 1024
#: Deepest nesting of objects and arrays accepted; the deepest good body has 4
#: ({"blackouts": [{"frames": [0]}]}).
MAX_DEPTH = 8

#: DICOM Rows and Columns are 16-bit.
MAX_PIXEL = 65535
MAX_FRAME = 65535
MAX_AREAS = 1000
MAX_FRAMES_LISTED = 1000
MAX_DECISIONS = 1000
MAX_ANNOTATIONS = 50
MAX_LABEL = 80


class BodyInvalid(ValueError):
    """A request body that is not what the endpoint accepts; the message is for people."""


_COORDINATE = {"type": "integer", "minimum": 0, "maximum": MAX_PIXEL}
_EXTENT = {"type": "integer", "minimum": 1, "maximum": MAX_PIXEL}
_FRAME = {"type": "integer", "minimum": 0, "maximum": MAX_FRAME}
_POSITION = {"type": "number", "minimum": 0, "maximum": MAX_PIXEL}

RECT = {
    "type": "object",
    "properties": {"x": _COORDINATE, "y": _COORDINATE, "width": _EXTENT, "height": _EXTENT},
    "required": ["x", "y", "width", "height"],
    "additionalProperties": False,
}

AREA = {  # a box to black out, or an area marked safe
    "type": "object",
    "properties": {
        **RECT["properties"],
        "frames": {
            "description": 'must be "all" or a list of frame numbers',
            "anyOf": [
                {"const": "all"},
                {"type": "array", "items": _FRAME, "minItems": 1, "maxItems": MAX_FRAMES_LISTED},
            ],
        },
    },
    "required": ["x", "y", "width", "height"],
    "additionalProperties": False,
}

_AREAS = {"type": "array", "items": AREA, "maxItems": MAX_AREAS}

INSTANCE_EDITS = {
    "type": "object",
    "properties": {
        "blackouts": _AREAS,
        "decisions": {
            "type": "object",
            "propertyNames": {"maxLength": 64, "description": "has a proposal id that is too long"},
            "additionalProperties": {"enum": ["accepted", "rejected"]},
            "maxProperties": MAX_DECISIONS,
        },
        "safe_regions": _AREAS,
    },
    "additionalProperties": False,
}

INSTANCE_CONFIRM = {
    "type": "object",
    "properties": {"accept_all": {"type": "boolean"}},
    "additionalProperties": False,
}

SERIES_CONFIRM = {"type": "object", "properties": {}, "additionalProperties": False}


def _annotation(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"type": {"const": kind}}},
        "then": {
            "properties": {"type": True, "frame": _FRAME, **fields},
            "required": list(fields),
            "additionalProperties": False,
        },
    }


ANNOTATION = {
    "type": "object",
    "properties": {"type": {"enum": ["arrow", "ellipse", "text"]}},
    "required": ["type"],
    "allOf": [
        _annotation("arrow", dict.fromkeys(("x1", "y1", "x2", "y2"), _POSITION)),
        _annotation("ellipse", dict.fromkeys(("x", "y", "width", "height"), _POSITION)),
        _annotation(
            "text",
            {
                "x": _POSITION,
                "y": _POSITION,
                "text": {
                    "description": f"must be 1 to {MAX_LABEL} characters on one line",
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_LABEL,
                    # PostgreSQL's jsonb stores neither NUL nor unpaired surrogates.
                    "pattern": r"^[^\x00-\x1f\x7f\ud800-\udfff]*$",
                },
            },
        ),
    ],
}

INSTANCE_ANNOTATIONS = {
    "type": "object",
    "properties": {
        "annotations": {"type": "array", "items": ANNOTATION, "maxItems": MAX_ANNOTATIONS}
    },
    "additionalProperties": False,
}

SERIES_CROP = {
    "type": "object",
    "properties": {
        "crop": {"description": "must be a rectangle or null", "anyOf": [{"type": "null"}, RECT]}
    },
    "additionalProperties": False,
}

SERIES_KEY_IMAGE = {
    "type": "object",
    "properties": {
        "instance": {
            "description": "must be an image id or null",
            "anyOf": [{"type": "null"}, {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}],
        }
    },
    "required": ["instance"],
    "additionalProperties": False,
}

SCHEMAS = {
    "instance_edits": INSTANCE_EDITS,
    "instance_confirm": INSTANCE_CONFIRM,
    "series_confirm": SERIES_CONFIRM,
    "instance_annotations": INSTANCE_ANNOTATIONS,
    "series_crop": SERIES_CROP,
    "series_key_image": SERIES_KEY_IMAGE,
}
for _schema in SCHEMAS.values():
    Draft202012Validator.check_schema(_schema)
_VALIDATORS = {name: Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


# A string (possibly unterminated: it then runs to the end) or one bracket. Possessive
# quantifiers keep the scan linear whatever the input.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels deep in ``body``
    (brackets inside strings do not count), found without parsing it."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than it opens
    depth = 0
    for token in _TOKEN.finditer(body):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _location(error: ValidationError) -> str:
    where = ""
    for part in error.absolute_path:
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{str(part)[:40]}" if where else str(part)[:40]
    return where or "the body"


_KINDS = {
    "object": "an object",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "string": "a text",
    "boolean": "true or false",
    "null": "null",
}


def _reason(error: ValidationError) -> str:
    """What is wrong, in words, never quoting the value that was sent."""
    keyword, expected = error.validator, error.validator_value
    if isinstance(error.schema, dict) and "description" in error.schema:
        return str(error.schema["description"])
    if keyword == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        names = ", ".join(repr(str(key)[:40]) for key in unknown[:5])
        return f"has unknown key(s): {names}"
    if keyword == "required":
        missing = [key for key in expected if key not in error.instance]
        return "is missing " + ", ".join(repr(key) for key in missing)
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_KINDS.get(kind, kind) for kind in kinds)
    if keyword in ("enum", "const"):
        allowed = expected if keyword == "enum" else [expected]
        return "must be one of " + ", ".join(json.dumps(v) for v in allowed)
    phrases = {
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "minItems": "must have at least {} item(s)",
        "maxItems": "must have at most {} item(s)",
        "minLength": "must have at least {} character(s)",
        "maxLength": "must have at most {} character(s)",
        "maxProperties": "must have at most {} key(s)",
    }
    if keyword in phrases:
        return phrases[keyword].format(expected)
    return "is not in the expected form"


def parse_body(body: bytes, schema: str) -> dict[str, Any]:
    """The JSON object in ``body``, checked against ``SCHEMAS[schema]``; an empty body is
    ``{}``. Raises ``BodyInvalid`` with a plain sentence."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyInvalid(f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if nests_deeper_than(body, MAX_DEPTH):
        raise BodyInvalid(f"the request body nests deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(body or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BodyInvalid("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BodyInvalid("the request body is not a JSON object")
    error = best_match(_VALIDATORS[schema].iter_errors(data))
    if error is not None:
        raise BodyInvalid(f"{_location(error)} {_reason(error)}")
    return data
