"""`bourse models build`: converts the shipped SmolLM2 and MiniLM into a models directory, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.__main__ import main
from services.local_inference.convert import smollm2
from services.local_inference.core.model_files import read_metadata


@pytest.mark.slow
def test_build_converts_once_and_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "build", "--models-dir", str(tmp_path)]) == 0
    built = smollm2.smollm2_dir(tmp_path)
    assert built.parent == tmp_path and built.name.startswith("smollm2-135m-instruct-")
    metadata = read_metadata(built)
    assert "<|im_start|>" in metadata.chat_template
    assert metadata.eos_token == "<|im_end|>"
    assert any(p.name.startswith("all-minilm-l6-v2-") for p in tmp_path.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory left behind
    stamp = (built / "model.bin").stat().st_mtime_ns
    assert main(["models", "build", "--models-dir", str(tmp_path)]) == 0
    assert (built / "model.bin").stat().st_mtime_ns == stamp
    assert "smollm2" in capsys.readouterr().out


def test_missing_model_package_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(smollm2, "PACKAGE", "bourse-no-such-model-package")
    assert main(["models", "build", "--models-dir", str(tmp_path)]) == 1
    assert "bourse-no-such-model-package is not installed" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
