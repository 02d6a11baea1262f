"""`python -m services.cache` exits with a clear message when it cannot start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("BOURSE_CACHE_")}
    return subprocess.run(
        [sys.executable, "-m", "services.cache"],
        env={**base, "BOURSE_CACHE_LISTEN": "127.0.0.1:0", "BOURSE_CACHE_DATA_DIR": str(tmp_path / "d"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unknown_config_key_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "cache.json"
    config.write_text('{"similarity_treshold": 0.9}')
    result = run({"BOURSE_CACHE_CONFIG": str(config)}, tmp_path)
    assert result.returncode == 2 and "similarity_treshold" in result.stderr


def test_a_model_that_cannot_be_prepared_exits_1(tmp_path: Path, nats_url: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run({"BOURSE_CACHE_MODELS_DIR": str(blocker / "models"), "BOURSE_CACHE_NATS_URL": nats_url}, tmp_path)
    assert result.returncode == 1 and "cache_start_failed" in result.stderr
