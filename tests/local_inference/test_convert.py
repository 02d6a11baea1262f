"""The GGUF -> CTranslate2 converter and the tokenizer.json it rebuilds, on a tiny random GGUF."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from services.local_inference.convert.gguf_to_ct2 import ConversionError, convert_gguf
from services.local_inference.convert.gguf_tokenizer import GgufVocabulary, UnsupportedTokenizer, build_tokenizer
from services.local_inference.core.model_files import ModelDirectoryError, read_metadata
from tests.local_inference.tiny_model import CHAT_TEMPLATE, write_tiny_gguf


def test_converted_directory_is_complete(tiny_model_dir: Path) -> None:
    names = {path.name for path in tiny_model_dir.iterdir()}
    assert {"model.bin", "config.json", "vocabulary.json", "tokenizer.json", "bourse_model.json"} <= names
    metadata = read_metadata(tiny_model_dir)
    assert metadata.name == "tiny-test"
    assert metadata.chat_template == CHAT_TEMPLATE
    assert (metadata.bos_token, metadata.eos_token) == ("<|im_start|>", "<|im_end|>")
    assert metadata.context_length == 512
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["eos_token"] == "<|im_end|>"


def test_tokenizer_matches_vocabulary_and_splits_digits(tiny_model_dir: Path) -> None:
    tokenizer = Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))
    vocabulary = json.loads((tiny_model_dir / "vocabulary.json").read_text())
    encoding = tokenizer.encode("ab in 2024 12<|im_end|>", add_special_tokens=False)
    assert [vocabulary[i] for i in encoding.ids] == encoding.tokens
    # the merge "a b" applies; "1 2" never does because SmolLM's pre-tokenizer isolates each digit
    assert encoding.tokens == ["ab", "Ġ", "i", "n", "Ġ", "2", "0", "2", "4", "Ġ", "1", "2", "<|im_end|>"]
    text = "héllo wörld ✓ 12"
    assert tokenizer.decode(tokenizer.encode(text).ids) == text


def test_gpt2_pre_tokenizer_keeps_digit_merges() -> None:
    vocab = GgufVocabulary(model="gpt2", pre="gpt-2", tokens=["1", "2", "12"], token_types=[1, 1, 1], merges=["1 2"])
    assert build_tokenizer(vocab).encode("12").tokens == ["12"]


@pytest.mark.parametrize(
    ("vocab", "message"),
    [
        (GgufVocabulary(model="llama", pre="default", tokens=["a"], token_types=[1], merges=[]), "not byte-level"),
        (GgufVocabulary(model="gpt2", pre="qwen2", tokens=["a"], token_types=[1], merges=[]), "not supported"),
        (GgufVocabulary(model="gpt2", pre="smollm", tokens=["a"], token_types=[1], merges=["ab"]), "malformed"),
    ],
)
def test_unsupported_tokenizers_are_refused(vocab: GgufVocabulary, message: str) -> None:
    with pytest.raises(UnsupportedTokenizer, match=message):
        build_tokenizer(vocab)


def test_refuses_int16(tiny_gguf: Path, tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="int16"):
        convert_gguf(tiny_gguf, tmp_path / "out", name="x", quantization="int16")


def test_refuses_other_architectures(tmp_path: Path) -> None:
    path = tmp_path / "falcon.gguf"
    write_tiny_gguf(path, architecture="falcon")
    with pytest.raises(ConversionError, match="falcon"):
        convert_gguf(path, tmp_path / "out", name="x")


def test_missing_tensor_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    write_tiny_gguf(path, drop="blk.1.ffn_up.weight")
    with pytest.raises(ConversionError, match=r"blk\.1\.ffn_up\.weight"):
        convert_gguf(path, tmp_path / "out", name="x")
    assert not (tmp_path / "out").exists()


def test_float32_conversion_generates_and_scores(tiny_gguf: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    from services.local_inference.core.chat_template import ChatTurn
    from services.local_inference.core.decoding import DecodeParams
    from services.local_inference.core.engine import EngineOptions, LocalModel

    convert_gguf(tiny_gguf, tmp_path / "f32", name="tiny-f32", quantization="float32")
    outputs = []
    for directory, compute in ((tmp_path / "f32", "float32"), (tiny_model_dir, "float32")):
        with contextlib.closing(LocalModel(directory, EngineOptions(compute_type=compute, intra_threads=1))) as model:
            prompt = model.prompt_ids([ChatTurn("user", "hello")])
            tokens: list[int] = []
            model.generate([prompt], DecodeParams(max_tokens=6), lambda _i, t, out=tokens: out.append(t) is not None)
            outputs.append(tokens)
            scores = model.score([[*prompt, 5, 6]], [2])
            assert np.isfinite(scores[0]) and scores[0] < 0
    assert len(outputs[0]) == 6 and len(outputs[1]) == 6


def test_model_directory_errors(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(ModelDirectoryError, match=r"no model\.bin"):
        read_metadata(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ModelDirectoryError, match=r"tokenizer\.json"):
        read_metadata(tmp_path)
    (tmp_path / "tokenizer.json").write_text((tiny_model_dir / "tokenizer.json").read_text())
    with pytest.raises(ModelDirectoryError, match="no chat template"):
        read_metadata(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("[1, 2]")
    with pytest.raises(ModelDirectoryError, match="JSON object"):
        read_metadata(tmp_path)
    # a directory from ct2-transformers-converter with the Hugging Face tokenizer_config.json copied in
    hf_config = {"chat_template": "{{ messages[0]['content'] }}", "eos_token": {"content": "<|im_end|>"}}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(hf_config))
    metadata = read_metadata(tmp_path)
    assert metadata.eos_token == "<|im_end|>"
    assert metadata.name == tmp_path.name
