"""The MiniLM conversion (no torch) and the sentence encoder, checked against a float32 numpy forward pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.embedding.convert import INFO_FILE, ensure_minilm, source_dir, target_name
from shared.embedding.encoder import SentenceEncoder
from tests.cache.reference_minilm import ReferenceMiniLM

pytestmark = pytest.mark.model

TEXTS = [
    "How do I convert Celsius to Fahrenheit?",
    "What is the capital of France?",
    "a",
    "Hugging Face Hub is a platform to host Git-based models, datasets, and Spaces.",
    "word " * 300,  # past the 256-token limit: truncated, not an error
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """Reference embeddings of TEXTS."""
    return ReferenceMiniLM(source_dir()).embed(TEXTS)


def test_conversion_is_keyed_on_the_package_version_and_a_no_op_when_present(minilm_dir: Path) -> None:
    assert minilm_dir.name == target_name() and target_name().endswith("-0.1.0")
    assert (minilm_dir / "model.bin").is_file() and (minilm_dir / INFO_FILE).is_file()
    stamp = (minilm_dir / "model.bin").stat().st_mtime_ns
    assert ensure_minilm(minilm_dir.parent) == minilm_dir
    assert (minilm_dir / "model.bin").stat().st_mtime_ns == stamp
    leftovers = [p for p in minilm_dir.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the staging directory was renamed, nothing half-written is left


def test_conversion_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "BOURSE_MODELS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "shared.embedding.convert"], env=env, capture_output=True, text=True, check=True
    )
    assert Path(result.stdout.strip()) == tmp_path / target_name()
    assert (tmp_path / target_name() / INFO_FILE).is_file()


def test_embeddings_are_unit_vectors_of_384(encoder: SentenceEncoder) -> None:
    vectors = encoder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.embed([]).shape == (0, 384)
    assert encoder.dimensions == 384 and encoder.name == target_name()


def test_batches_are_ragged_not_padded_and_long_inputs_truncate(encoder: SentenceEncoder) -> None:
    ids = encoder.token_ids(["hi", "word " * 300])
    assert len(ids[0]) == 3  # [CLS] hi [SEP]: the shipped tokenizer would pad this to 128
    assert len(ids[1]) == 256
    alone = encoder.embed(["hi"])[0]
    batched = encoder.embed(["hi", "word " * 300])[0]
    assert float(alone @ batched) > 0.999  # padding in the batch does not leak into the short text's mean


def test_int8_matches_the_float32_reference(encoder: SentenceEncoder, reference: np.ndarray) -> None:
    cosines = np.sum(encoder.embed(TEXTS) * reference, axis=1)
    assert cosines.min() >= 0.98


def test_float32_matches_the_reference_exactly(minilm_dir: Path, reference: np.ndarray) -> None:
    encoder = SentenceEncoder(minilm_dir, compute_type="float32", intra_threads=1)
    cosines = np.sum(encoder.embed(TEXTS) * reference, axis=1)
    assert cosines.min() >= 0.9999  # mean pooling of last_hidden_state, not BERT's pooler


def test_int16_on_the_mkl_backend_matches_the_reference(minilm_dir: Path, reference: np.ndarray) -> None:
    # CTranslate2 chooses its backend at import, so int16 is checked in a fresh interpreter.
    script = (
        "import sys, numpy as np; from pathlib import Path; from shared.embedding.encoder import SentenceEncoder;"
        f"e = SentenceEncoder(Path({str(minilm_dir)!r}), compute_type='int16', intra_threads=1);"
        f"np.save(sys.argv[1], e.embed({TEXTS!r}))"
    )
    out = minilm_dir.parent / "int16.npy"
    env = {k: v for k, v in os.environ.items() if k != "CT2_USE_MKL"}
    subprocess.run([sys.executable, "-c", script, str(out)], env=env, check=True)
    cosines = np.sum(np.load(out) * reference, axis=1)
    assert cosines.min() >= 0.997


def test_a_directory_without_a_converted_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a converted sentence encoder"):
        SentenceEncoder(tmp_path)


def test_a_compute_type_the_backend_lacks_is_a_clear_error(minilm_dir: Path) -> None:
    with pytest.raises(ValueError, match="compute type 'float16' is not available"):
        SentenceEncoder(minilm_dir, compute_type="float16")


def test_embedding_token_ids_equals_embedding_the_texts(encoder: SentenceEncoder) -> None:
    """`embed_ids` (the quality predictor shortens prompts to their first tokens) pools like `embed`."""
    ids = encoder.token_ids(TEXTS)
    assert np.allclose(encoder.embed_ids(ids), encoder.embed(TEXTS), atol=1e-5)
    short = [row[:8] + row[-1:] for row in ids]  # first tokens and the final [SEP]
    vectors = encoder.embed_ids(short)
    assert vectors.shape == (len(TEXTS), encoder.dimensions)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[3], encoder.embed(TEXTS[3:4])[0], atol=1e-3)  # shortened: a different vector
    assert encoder.embed_ids([]).shape == (0, encoder.dimensions)
