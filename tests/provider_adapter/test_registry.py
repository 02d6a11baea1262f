"""The provider registry as data: every provider, its key variables, quirks, user endpoints, demo routing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core.http_provider import HttpProvider
from services.provider_adapter.core.provider import Call
from services.provider_adapter.core.registry import ProviderSpec, builtin_registry_path, load_registry
from services.provider_adapter.upstreams import build_providers, provider_specs
from shared.config import ConfigError, load_config
from shared.errors import UpstreamError
from tests.provider_adapter.chat_requests import user_chat

NAMES = [
    "openai",
    "anthropic",
    "gemini",
    "deepseek",
    "qwen",
    "mistral",
    "groq",
    "together",
    "fireworks",
    "openrouter",
    "tokenmix",
]
KEY_VARS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "qwen": "DASHSCOPE_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "together": "TOGETHER_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "tokenmix": "TOKENMIX_API_KEY",
}


def test_builtin_registry_names_every_provider_with_its_key_variable() -> None:
    specs = {spec.name: spec for spec in load_registry(builtin_registry_path())}
    assert sorted(specs) == sorted(NAMES)
    for name, var in KEY_VARS.items():
        assert var in specs[name].api_key_env
        assert specs[name].base_url.startswith("https://")
    assert {specs[n].dialect for n in NAMES} == {"openai_chat", "anthropic_messages", "gemini_generate"}


async def test_keyed_providers_use_the_api_and_the_rest_the_simulator() -> None:
    providers = await build_providers(
        AdapterConfig(simulator_url="http://127.0.0.1:9"), {"DEEPSEEK_API_KEY": "k1", "ANTHROPIC_API_KEY": "k2"}
    )
    try:
        assert providers.routes["deepseek"] == "api"
        assert providers.routes["anthropic"] == "api"
        assert providers.routes["openai"] == "simulator"
        assert len(providers.transports) == len(NAMES)  # one pooled client per upstream
    finally:
        await providers.close()


async def test_without_key_or_simulator_the_call_fails_with_authentication() -> None:
    providers = await build_providers(AdapterConfig(), {"GROQ_API_KEY": "gsk_x"})
    try:
        assert providers.routes["groq"] == "api"
        with pytest.raises(UpstreamError) as caught:
            providers.get("mistral", "mistral-small")
        assert caught.value.reason == "AUTHENTICATION"
        assert "MISTRAL_API_KEY" in caught.value.message
        assert caught.value.metadata == {"provider": "mistral", "model": "mistral-small"}
    finally:
        await providers.close()


async def test_user_supplied_endpoint_and_override(tmp_path: Path) -> None:
    extra = tmp_path / "registry.json"
    extra.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "name": "ollama",
                        "dialect": "openai_chat",
                        "base_url": "http://127.0.0.1:11434/v1",
                        "auth": "none",
                    }
                ]
            }
        )
    )
    config = AdapterConfig(
        registry_path=str(extra),
        providers=[
            ProviderSpec(
                name="openai", dialect="openai_chat", base_url="https://proxy.example/v1", api_key_env=("MY_KEY",)
            )
        ],
    )
    specs = provider_specs(config)
    assert specs["ollama"].auth == "none"
    assert specs["openai"].base_url == "https://proxy.example/v1"
    providers = await build_providers(config, {"MY_KEY": "x"})
    try:
        assert providers.routes["ollama"] == "api"  # auth "none" needs no key
        assert providers.routes["openai"] == "api"
        assert isinstance(providers.providers["openai"], HttpProvider)
    finally:
        await providers.close()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "dialect": "openai_chat", "base_url": "ftp://x"}, "base_url"),
        ({"name": "x", "dialect": "openai_chat", "base_url": "http://x", "auth": "magic"}, "auth"),
        ({"name": "local", "dialect": "openai_chat", "base_url": "http://x"}, "reserved"),
        (
            {"name": "x", "dialect": "openai_chat", "base_url": "http://x", "quirks": {"unsupported": ["telepathy"]}},
            "telepathy",
        ),
        ({"name": "x", "dialect": "openai_chat", "base_url": "http://x", "colour": "red"}, "colour"),
    ],
)
def test_bad_registry_entries_are_rejected(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"providers": [entry]}))
    with pytest.raises(ConfigError, match=message):
        load_registry(path)


async def test_unknown_dialect_is_a_config_error() -> None:
    config = AdapterConfig(providers=[ProviderSpec(name="x", dialect="smoke_signals", base_url="http://x")])
    with pytest.raises(ConfigError, match="unknown dialect"):
        await build_providers(config, {})


def test_config_from_environment_rejects_unknown_keys(tmp_path: Path) -> None:
    config = load_config(
        AdapterConfig,
        env_prefix="BOURSE_ADAPTER",
        environ={"BOURSE_ADAPTER_SIMULATOR_URL": "http://127.0.0.1:8099", "BOURSE_ADAPTER_LISTEN": "127.0.0.1:0"},
    )
    assert config.simulator_url == "http://127.0.0.1:8099"
    assert config.listen == "127.0.0.1:0"
    bad = tmp_path / "adapter.json"
    bad.write_text(json.dumps({"simulator_ulr": "typo"}))
    with pytest.raises(ConfigError, match="simulator_ulr"):
        load_config(AdapterConfig, env_prefix="BOURSE_ADAPTER", path=bad, environ={})


async def test_regional_endpoints() -> None:
    hits: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        hits.append(request.path)
        body = {"id": "r", "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    spec = ProviderSpec(
        name="regional", dialect="openai_chat", base_url=f"{url}/intl/v1", auth="none", regions={"cn": f"{url}/cn/v1"}
    )
    providers = await build_providers(AdapterConfig(providers=[spec]), {})
    try:
        provider = providers.get("regional", "m")
        await provider.complete(Call(provider="regional", model="m", chat=user_chat()))
        await provider.complete(Call(provider="regional", model="m", chat=user_chat(), region="cn"))
        assert hits == ["/intl/v1/chat/completions", "/cn/v1/chat/completions"]
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(Call(provider="regional", model="m", chat=user_chat(), region="eu"))
        assert caught.value.reason == "UNSUPPORTED_FIELD"
        assert caught.value.metadata["field"] == "region"
    finally:
        await providers.close()
        await runner.cleanup()
