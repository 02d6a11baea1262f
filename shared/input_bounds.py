"""The project's one set of input bounds: what a request may carry before any service acts on it.

Every edge enforces these same limits: the gateway's HTTP routes (400 in the API's error shape) and the router's
gRPC validation (INVALID_ARGUMENT with google.rpc.BadRequest). They also keep what reaches NATS inside what NATS
accepts (subject and header sizes, payload size), so no request can make nats-server close a connection.

Public names (stable; other modules import them):

- `BOUNDS`: the `InputBounds` instance every edge uses. Fields and values:

  | field | value | why |
  |---|---|---|
  | `tenant_id_max_chars` | 64 | a subject token (`bourse.cost.<tenant>`), escaped at most 3x |
  | `request_id_max_chars` | 128 | the client's correlation id; charset `[A-Za-z0-9._:-]` (header- and log-safe) |
  | `key_id_max_chars` | 64 | key ids are 24 hex characters; room for other issuers |
  | `metadata_max_entries` | 64 | labels copied into every telemetry event |
  | `metadata_key_max_bytes` | 64 | per key, UTF-8 bytes |
  | `metadata_value_max_bytes` | 256 | per value, UTF-8 bytes |
  | `metadata_max_total_bytes` | 8192 | keys and values together, UTF-8 bytes |
  | `json_max_depth` | 64 | nesting of any JSON document received (an HTTP body) |
  | `schema_max_depth` | 32 | nesting of a JSON Schema (tool parameters, response_format) |
  | `max_tools` | 128 | tools offered in one request |
  | `max_violations` | 20 | field violations listed in one error; the rest are counted in one more entry |
  | `error_message_max_chars` | 1024 | an error's message (it travels in a gRPC header) |
  | `subject_max_bytes` | 1024 | a NATS subject (nats-server closes a client whose control line passes 4 KiB) |
  | `event_max_bytes` | 512 KiB | an event payload (NATS refuses more than its max_payload, 1 MiB by default) |

- `TENANT_ID_PATTERN`, `REQUEST_ID_PATTERN`: compiled regular expressions (use `fullmatch`).
- `check_tenant_id`, `check_request_id`, `check_key_id`, `check_metadata`: return a list of
  `FieldViolation` (empty when fine), with the caller's field path.
- `json_depth(text, limit)`: nesting depth of a JSON text without parsing it (no recursion, stops past `limit`).
- `check_json_depth`, `check_utf8`: violations for a too deep JSON text and for bytes that are not UTF-8.
- `cap_violations(violations)`: at most `max_violations` of them plus one entry counting the rest.
- `clip_message(text)`: an error message cut to `error_message_max_chars`.

Strings are also checked for lone surrogates (a JSON `"\\ud800"` escape decodes to one), which UTF-8 cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.errors import FieldViolation

__all__ = [
    "BOUNDS",
    "REQUEST_ID_PATTERN",
    "TENANT_ID_PATTERN",
    "InputBounds",
    "cap_violations",
    "check_json_depth",
    "check_key_id",
    "check_metadata",
    "check_request_id",
    "check_tenant_id",
    "check_utf8",
    "clip_message",
    "encodable",
    "json_depth",
]


@dataclass(frozen=True, slots=True)
class InputBounds:
    """The limits; see the module docstring for each value's reason."""

    tenant_id_max_chars: int = 64
    request_id_max_chars: int = 128
    key_id_max_chars: int = 64
    metadata_max_entries: int = 64
    metadata_key_max_bytes: int = 64
    metadata_value_max_bytes: int = 256
    metadata_max_total_bytes: int = 8192
    json_max_depth: int = 64
    schema_max_depth: int = 32
    max_tools: int = 128
    max_violations: int = 20
    error_message_max_chars: int = 1024
    subject_max_bytes: int = 1024
    event_max_bytes: int = 512 * 1024


BOUNDS = InputBounds()

# A tenant id starts with a letter or digit (the same rule `bourse keys create` applies).
TENANT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))  # bytes.translate deletes these
_OPENERS = frozenset(b"[{")
_REST = "..."  # the field of the entry counting the violations not listed


def check_tenant_id(value: str, field: str = "tenant_id") -> list[FieldViolation]:
    if TENANT_ID_PATTERN.fullmatch(value):
        return []
    return [
        FieldViolation(
            field,
            f"1 to {BOUNDS.tenant_id_max_chars} characters: letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
        )
    ]


def check_request_id(value: str, field: str = "request_id") -> list[FieldViolation]:
    """An empty id is fine (none given); otherwise `[A-Za-z0-9._:-]`, at most 128 characters."""
    if not value or REQUEST_ID_PATTERN.fullmatch(value):
        return []
    return [
        FieldViolation(
            field, f"at most {BOUNDS.request_id_max_chars} characters: letters, digits, '.', '_', ':' or '-'"
        )
    ]


def check_key_id(value: str, field: str = "key_id") -> list[FieldViolation]:
    if not value or _KEY_ID_PATTERN.fullmatch(value):
        return []
    return [FieldViolation(field, f"at most {BOUNDS.key_id_max_chars} characters: letters, digits, '_' or '-'")]


def check_metadata(metadata: Mapping[str, str], field: str = "metadata") -> list[FieldViolation]:
    """Entry count, per-entry and total sizes in UTF-8 bytes; one violation per bad entry (capped by the caller)."""
    violations: list[FieldViolation] = []
    if len(metadata) > BOUNDS.metadata_max_entries:
        violations.append(FieldViolation(field, f"at most {BOUNDS.metadata_max_entries} entries, got {len(metadata)}"))
    total = 0
    for key, value in metadata.items():
        if not (encodable(key) and encodable(value)):
            violations.append(FieldViolation(f"{field}[{_shown(key)}]", "not valid Unicode (a lone surrogate)"))
            continue
        key_bytes, value_bytes = len(key.encode()), len(value.encode())
        total += key_bytes + value_bytes
        if key_bytes > BOUNDS.metadata_key_max_bytes or value_bytes > BOUNDS.metadata_value_max_bytes:
            violations.append(
                FieldViolation(
                    f"{field}[{_shown(key)}]",
                    f"keys at most {BOUNDS.metadata_key_max_bytes} bytes, values at most "
                    f"{BOUNDS.metadata_value_max_bytes}",
                )
            )
    if total > BOUNDS.metadata_max_total_bytes:
        violations.append(
            FieldViolation(field, f"at most {BOUNDS.metadata_max_total_bytes} bytes in total, got {total}")
        )
    return violations


def json_depth(text: str | bytes, limit: int) -> int:
    """How deep `text`'s arrays and objects nest (0 for a scalar); stops counting once past `limit`.

    A scan, not a parse: malformed JSON gets some number, and the parser reports it afterwards. It runs at C speed
    over the text (escapes removed, then everything but quotes and brackets), and loops in Python only over the
    brackets outside strings.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    # An escaped backslash, then an escaped quote, cannot open or close a string: drop them first.
    structure = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    outside = b"".join(structure.split(b'"')[::2])  # even pieces lie outside strings
    return _depth(outside, limit)


def _depth(brackets: bytes, limit: int) -> int:
    depth = deepest = 0
    for char in brackets:
        if char in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def check_json_depth(text: str | bytes, field: str, limit: int) -> list[FieldViolation]:
    """A violation when `text` nests deeper than `limit`. Most texts hold too few brackets to, and are not scanned."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return []
    if json_depth(data, limit) > limit:
        return [FieldViolation(field, f"JSON nested deeper than {limit} levels")]
    return []


def check_utf8(data: bytes, field: str = "body") -> list[FieldViolation]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return [FieldViolation(field, f"not valid UTF-8 (byte {error.start})")]
    return []


def encodable(text: str) -> bool:
    """Whether `text` can be sent as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cap_violations(violations: Sequence[FieldViolation]) -> list[FieldViolation]:
    """The first `max_violations`, and one more entry counting the rest (an error must fit a gRPC header)."""
    limit = BOUNDS.max_violations
    if len(violations) <= limit or (len(violations) == limit + 1 and violations[-1].field == _REST):
        return list(violations)  # within the cap, or capped already
    rest = len(violations) - limit
    return [*violations[:limit], FieldViolation(_REST, f"{rest} more violations not listed")]


def clip_message(text: str) -> str:
    limit = BOUNDS.error_message_max_chars
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(key: str) -> str:
    """A metadata key as it may appear in a field path: short and printable."""
    safe = key[:32].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return "".join(ch if ch.isprintable() else "?" for ch in safe)
