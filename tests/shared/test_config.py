from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from shared.config import ConfigError, load_config


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    weight: float = 1.0


class Sample(msgspec.Struct, forbid_unknown_fields=True):
    listen: str = "127.0.0.1:0"
    workers: int = 1
    inner: Inner = msgspec.field(default_factory=Inner)
    tags: list[str] = msgspec.field(default_factory=list)


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"listen": "0.0.0.0:1", "workers": 2}))
    config = load_config(Sample, env_prefix="X", path=path, environ={"X_WORKERS": "4", "X_TAGS": '["a","b"]'})
    assert (config.listen, config.workers, config.tags) == ("0.0.0.0:1", 4, ["a", "b"])


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('listen = "h:2"\n[inner]\nweight = 0.5\n')
    assert load_config(Sample, env_prefix="X", path=path, environ={}).inner.weight == 0.5


def test_unknown_key_fails_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"inner": {"wieght": 2}}))
    with pytest.raises(ConfigError) as info:
        load_config(Sample, env_prefix="X", path=path, environ={})
    assert info.value.violations[0].field == "$.inner"
    assert "wieght" in info.value.message


def test_wrong_type_in_environment_fails() -> None:
    with pytest.raises(ConfigError, match="workers"):
        load_config(Sample, env_prefix="X", environ={"X_WORKERS": "many"})


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"workers": 7}))
    assert load_config(Sample, env_prefix="X", environ={"X_CONFIG": str(path)}).workers == 7


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(Sample, env_prefix="X", path=tmp_path / "missing.json", environ={})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid json"):
        load_config(Sample, env_prefix="X", path=bad, environ={})
