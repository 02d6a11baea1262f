"""API keys: read from environment variables or key files, rotated round-robin, never shown.

`Secret` hides its value from repr/str (so a key cannot reach a log line or an error by accident), and
`Redactor` scrubs every known key (and any key-shaped token) from text that came back from a provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from shared.config import ConfigError

REDACTED = "[redacted]"
# Key-shaped tokens providers echo in error messages ("Incorrect API key provided: sk-proj-abc...").
_KEY_SHAPES = re.compile(r"\b(?:sk-(?:ant-|proj-|or-)?|AIza|gsk_|fw_)[A-Za-z0-9_\-*]{6,}(?:\.+[A-Za-z0-9_\-*]+)*")


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


class Credentials:
    """The keys of one provider; `next()` rotates through them so several keys share the load."""

    def __init__(self, keys: Sequence[Secret]) -> None:
        self._keys = tuple(keys)
        self._turn = 0

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __repr__(self) -> str:
        return f"Credentials({len(self._keys)} keys)"

    def __len__(self) -> int:
        return len(self._keys)

    def next(self) -> Secret:
        key = self._keys[self._turn % len(self._keys)]
        self._turn += 1
        return key

    def values(self) -> Iterable[str]:
        return (key.reveal() for key in self._keys)


def load_credentials(env_names: Sequence[str], key_files: Sequence[str], environ: Mapping[str, str]) -> Credentials:
    """Keys from each named variable (comma-separated for several) and each file (one key per line)."""
    keys: list[Secret] = []
    for name in env_names:
        keys.extend(Secret(value.strip()) for value in environ.get(name, "").split(",") if value.strip())
    for file_name in key_files:
        path = Path(file_name)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise ConfigError(f"cannot read key file {path}: {error.strerror}") from error
        keys.extend(Secret(line.strip()) for line in lines if line.strip() and not line.startswith("#"))
    return Credentials(keys)


class Redactor:
    """Removes known secrets and key-shaped tokens from text before it is logged or returned."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _KEY_SHAPES.sub(REDACTED, text)
