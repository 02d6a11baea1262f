"""Service configuration: msgspec Structs read from a JSON or TOML file, then overridden by environment.

Unknown keys are rejected (every config Struct sets forbid_unknown_fields=True), so a typo fails at start-up
with the path of the bad field. Environment overrides use `<PREFIX>_<FIELD>` for top-level fields
(`BOURSE_ROUTER_LISTEN=127.0.0.1:0`); values are parsed as JSON when they look like JSON, else taken as strings.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from shared.errors import FieldViolation, InvalidRequest, Reason

T = TypeVar("T", bound=msgspec.Struct)


class ConfigError(InvalidRequest):
    """A configuration file or variable is invalid; the message names the bad field."""

    default_reason = Reason.INVALID_CONFIG


def load_config(
    struct: type[T],
    *,
    env_prefix: str,
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """Read `struct` from `path` (or `<PREFIX>_CONFIG`), apply `<PREFIX>_<FIELD>` overrides, validate."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    file_path = path or env.get(f"{env_prefix}_CONFIG")
    if file_path:
        raw = _read_file(Path(file_path))
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    for name in fields:
        value = env.get(f"{env_prefix}_{name.upper()}")
        if value is not None:
            raw[name] = _parse_env_value(value)
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as error:
        source = str(file_path) if file_path else "environment"
        raise ConfigError(
            f"invalid configuration ({source}): {error}",
            violations=[FieldViolation(field=_error_path(str(error)), description=str(error))],
        ) from error


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read configuration file {path}: {error}") from error
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"configuration file {path} is not valid {path.suffix[1:] or 'json'}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold an object at the top level")
    return data


def _parse_env_value(value: str) -> Any:
    stripped = value.strip()
    if stripped[:1] in "[{" or stripped in ("true", "false", "null"):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _error_path(message: str) -> str:
    # msgspec ends messages with "- at `$.field[0].name`"
    marker = "at `"
    if marker in message:
        return message.rsplit(marker, 1)[1].rstrip("`")
    return "$"
