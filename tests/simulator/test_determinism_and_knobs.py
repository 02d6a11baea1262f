"""Same seed, same requests -> same answers, usage and faults; knobs per model from a config file."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.simulator.config import ENV_PREFIX, SimulatorConfig
from services.simulator.knobs import Latency, ModelKnobs
from shared.config import ConfigError, load_config
from tests.simulator.conftest import running
from tests.simulator.requests import ANTHROPIC_HEADERS, anthropic, gemini, openai


async def sequence(session: aiohttp.ClientSession, n: int) -> list[tuple[int, str]]:
    out = []
    for i in range(n):
        async with session.post("/openai/v1/chat/completions", json=openai("flaky", f"question {i % 3}")) as response:
            out.append((response.status, await response.text()))
    return out


def stable(results: list[tuple[int, str]]) -> list[tuple[int, Any]]:
    """Drop the wall-clock `created` field, keep everything else."""
    cleaned = []
    for status, text in results:
        body = json.loads(text)
        body.pop("created", None)
        cleaned.append((status, body))
    return cleaned


FLAKY = SimulatorConfig(
    listen="127.0.0.1:0", seed=11, models={"flaky": ModelKnobs(error_rates={"rate_limit": 0.3, "server_error": 0.2})}
)


async def test_same_seed_same_everything() -> None:
    async with running(FLAKY) as first:
        a = await sequence(first, 30)
    async with running(FLAKY) as second:
        b = await sequence(second, 30)
    assert stable(a) == stable(b)
    statuses = {status for status, _ in a}
    assert statuses == {200, 429, 500}  # the rates really produce every outcome


async def test_other_seed_other_sequence() -> None:
    async with running(FLAKY) as first:
        a = await sequence(first, 30)
    other = SimulatorConfig(listen="127.0.0.1:0", seed=12, models=FLAKY.models)
    async with running(other) as second:
        b = await sequence(second, 30)
    assert stable(a) != stable(b)


async def test_any_model_gets_default_knobs_and_consistent_usage() -> None:
    async with (
        running(SimulatorConfig(listen="127.0.0.1:0")) as sim,
        sim.post("/qwen/v1/chat/completions", json=openai("never-configured-7b")) as response,
    ):
        body = await response.json()
    usage = body["usage"]
    assert response.status == 200
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(body["choices"][0]["message"]["content"].split()) == 12


async def test_bursts_context_window_and_usage_details_from_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(
        json.dumps(
            {
                "seed": 3,
                "models": {
                    "anthropic/burst": {
                        "bursts": [{"kind": "rate_limit", "every": 4, "length": 2, "retry_after_s": 9}]
                    },
                    "tiny": {"context_window": 10, "output_tokens": 4},
                    "gemini/thinker": {"reasoning_fraction": 0.5, "cached_fraction": 0.5, "output_tokens": 10},
                },
            }
        )
    )
    config = load_config(
        SimulatorConfig, env_prefix=ENV_PREFIX, path=path, environ={"BOURSE_SIMULATOR_LISTEN": "127.0.0.1:0"}
    )
    async with running(config) as sim:
        statuses = []
        for _ in range(8):
            async with sim.post("/anthropic/v1/messages", json=anthropic("burst"), headers=ANTHROPIC_HEADERS) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert r.headers["retry-after"] == "9"
        assert statuses == [429, 429, 200, 200, 429, 429, 200, 200]
        async with sim.post("/openai/v1/chat/completions", json=openai("tiny", "a " * 20)) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "context_length_exceeded"
        async with sim.post("/openai/v1/chat/completions", json=openai("tiny", "short")) as r:
            assert (await r.json())["usage"]["completion_tokens"] == 4
        async with sim.post("/gemini/v1beta/models/thinker:generateContent", json=gemini("think " * 10)) as r:
            usage = (await r.json())["usageMetadata"]
        assert usage["thoughtsTokenCount"] == 5
        assert usage["candidatesTokenCount"] == 5
        assert usage["cachedContentTokenCount"] == usage["promptTokenCount"] // 2
        assert usage["totalTokenCount"] == usage["promptTokenCount"] + 10


def test_bad_knobs_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"default": {"error_rates": {"gremlins": 0.1}}}))
    with pytest.raises(ConfigError, match="gremlins"):
        load_config(SimulatorConfig, env_prefix=ENV_PREFIX, path=path, environ={})
    path.write_text(json.dumps({"default": {"latency": {"kind": "sometimes"}}}))
    with pytest.raises(ConfigError, match="latency"):
        load_config(SimulatorConfig, env_prefix=ENV_PREFIX, path=path, environ={})


def test_latency_distributions_are_seeded() -> None:
    normal = Latency(kind="normal", mean_ms=100, stddev_ms=20)
    assert [normal.sample_s(random.Random(5)) for _ in range(3)] == [
        normal.sample_s(random.Random(5)) for _ in range(3)
    ]
    tail = Latency(kind="long_tail", mean_ms=10, tail_probability=1.0, tail_ms=900)
    assert tail.sample_s(random.Random(1)) == pytest.approx(0.9)
    assert Latency(kind="fixed", mean_ms=25).sample_s(random.Random(1)) == pytest.approx(0.025)
    assert Latency(kind="normal", mean_ms=1, stddev_ms=100).sample_s(random.Random(3)) >= 0.0


def test_shipped_demo_knobs_load() -> None:
    path = Path(__file__).resolve().parents[2] / "services" / "simulator" / "demo_models.json"
    config = load_config(SimulatorConfig, env_prefix=ENV_PREFIX, path=path, environ={})
    assert config.models["groq/openai/gpt-oss-20b"].bursts[0].kind == "rate_limit"
    assert config.default.latency.kind == "normal"
