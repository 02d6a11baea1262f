"""Token estimates: the prompt heuristic, its calibration from telemetry, and the measured error."""

from __future__ import annotations

import random

import pytest
from bourse.common.v1 import chat_pb2

from services.router.core.selection.estimate import DEFAULT_COMPLETION_TOKENS, IMAGE_TOKENS, TokenEstimator
from shared.events.schemas import TelemetryEvent


def _chat(text: str) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)])]
    )


def _usage(estimate: int, actual: int, completion: int = 50, **fields: object) -> TelemetryEvent:
    base: dict[str, object] = {
        "request_id": "r",
        "ts_ms": 0,
        "tenant": "t",
        "task_kind": "chat",
        "provider": "a",
        "model": "m",
        "served_from": "remote",
        "prompt_tokens": actual,
        "estimated_prompt_tokens": estimate,
        "completion_tokens": completion,
    }
    base.update(fields)
    return TelemetryEvent(**base)  # type: ignore[arg-type]


def test_prompt_heuristic_counts_text_tools_and_images() -> None:
    estimator = TokenEstimator()
    short = estimator.prompt_tokens(_chat("x" * 400))
    assert short == 100 + 4 + 3
    chat = _chat("x" * 400)
    chat.tools.add(name="lookup", description="d" * 40, parameters_json_schema="{}")
    chat.messages.add(role=chat_pb2.ROLE_USER).content.add(image=chat_pb2.ImagePart(url="https://x/y.png"))
    # ceil((400 + 6 + 40 + 2) / 4) text tokens, two messages, the priming, one tool, one image.
    assert estimator.prompt_tokens(chat) == 112 + 2 * 4 + 3 + 8 + IMAGE_TOKENS


def test_calibration_converges_and_the_error_is_reported() -> None:
    estimator = TokenEstimator(alpha=0.1)
    rng = random.Random(5)
    chat = _chat("word " * 300)
    for _ in range(200):
        estimate = estimator.prompt_tokens(chat)
        actual = round(estimator.raw_prompt_tokens(chat) * 1.3 * rng.uniform(0.97, 1.03))
        estimator.observe(_usage(estimate, actual))
    assert estimator.correction_factor == pytest.approx(1.3, rel=0.05)
    error = estimator.prompt_error()
    assert error.samples == 200
    assert error.recent_abs_pct_error < 0.03 and error.recent_abs_pct_error < error.mean_abs_pct_error
    assert error.mean_pct_bias < 0  # the raw heuristic under-counted this tokenizer


def test_failed_estimated_or_non_remote_usage_is_not_learned() -> None:
    estimator = TokenEstimator()
    estimator.observe(_usage(100, 300, outcome="error"))
    estimator.observe(_usage(100, 300, usage_estimated=True))
    estimator.observe(_usage(100, 300, served_from="cache"))
    estimator.observe(_usage(0, 300))
    assert estimator.prompt_error().samples == 0 and estimator.correction_factor == 1.0


def test_correction_factor_is_bounded() -> None:
    estimator = TokenEstimator(alpha=1.0)
    for _ in range(10):
        estimator.observe(_usage(1, 1_000_000))
    assert estimator.correction_factor == pytest.approx(4.0)


def test_expected_completion_from_defaults_max_tokens_and_observations() -> None:
    estimator = TokenEstimator()
    assert estimator.expected_completion_tokens("a", "m", "code", None) == DEFAULT_COMPLETION_TOKENS["code"]
    assert estimator.expected_completion_tokens("a", "m", "code", 10) == 10
    assert estimator.expected_completion_tokens("a", "m", "unknown-kind", None) == 384
    for completion in (100, 120, 140):
        estimator.observe(_usage(10, 10, completion=completion, task_kind="code"))
    assert estimator.expected_completion_tokens("a", "m", "code", None) == 120
    # Another model of the same task kind borrows the task-wide mean until it has its own.
    assert estimator.expected_completion_tokens("b", "n", "code", None) == 120


def test_completion_floor_bounds_every_model_from_below() -> None:
    estimator = TokenEstimator(alpha=0.3)
    rng = random.Random(11)
    models = [("a", f"m{i}") for i in range(12)]
    for step in range(3000):  # crosses the periodic exact recomputation
        provider, model = rng.choice(models)
        task = rng.choice(["chat", "code"])
        estimator.observe(
            _usage(10, 10, completion=rng.randint(1, 2000), provider=provider, model=model, task_kind=task)
        )
        if step % 97 == 0:
            for check_task in ("chat", "code", "classification"):
                for max_tokens in (None, 50):
                    floor = estimator.completion_floor(check_task, max_tokens)
                    expected = [
                        estimator.expected_completion_tokens(p, m, check_task, max_tokens)
                        for p, m in [*models, ("z", "new")]
                    ]
                    assert floor <= min(expected)
    assert estimator.completion_floor("classification", None) == DEFAULT_COMPLETION_TOKENS["classification"]
