"""Cache configuration: environment overrides, unknown keys and bad values fail at start-up."""

from __future__ import annotations

import pytest

from services.cache.config import ENV_PREFIX, CacheConfig
from shared.config import ConfigError, load_config


def test_defaults_and_environment_overrides() -> None:
    config = load_config(
        CacheConfig,
        env_prefix=ENV_PREFIX,
        environ={"BOURSE_CACHE_LISTEN": "127.0.0.1:0", "BOURSE_CACHE_SIMILARITY_THRESHOLD": "0.85"},
    )
    assert config.listen == "127.0.0.1:0" and config.similarity_threshold == 0.85
    assert config.policy().similarity_threshold == 0.85
    assert load_config(CacheConfig, env_prefix=ENV_PREFIX, environ={}).listen == "127.0.0.1:50053"


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ('{"similarity_treshold": 0.9}', "similarity_treshold"),
        ('{"similarity_threshold": 1.5}', "similarity_threshold must be in (0, 1]"),
        ('{"compute_type": "int4"}', "unsupported compute_type"),
        ('{"index_dtype": "f64"}', "unsupported index_dtype"),
        ('{"semantic_mode": "loose"}', "semantic_mode: unknown semantic mode 'loose'"),
        ('{"semantic_modes": {"acme": "lenient"}}', "semantic_modes['acme']: unknown semantic mode 'lenient'"),
        ('{"bad_hit_error_bound": 1.5}', "bad_hit_error_bound must be in (0, 1)"),
    ],
)
def test_bad_configuration_is_rejected(tmp_path: object, contents: str, message: str) -> None:
    path = tmp_path / "cache.json"  # type: ignore[operator]
    path.write_text(contents)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(CacheConfig, env_prefix=ENV_PREFIX, path=path)
