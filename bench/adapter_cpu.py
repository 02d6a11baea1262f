"""Adapter CPU per call: translate the neutral request + parse the provider's answer, per dialect, streamed or not.

The answers are real ones from the simulator (fetched once over HTTP, then parsed in a loop), so the measured work
is exactly the adapter's own: no network, no event loop. Run: python -m bench.adapter_cpu [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp
from bourse.common.v1 import chat_pb2

from services.provider_adapter.api import ENCODER, Call, Quirks, SseParser, dialect_registry, prompt_chars
from services.simulator.api import ModelKnobs, SimulatorConfig, start_simulator

PROVIDER_OF = {"openai_chat": "openai", "anthropic_messages": "anthropic", "gemini_generate": "gemini"}
PREFIX = {"openai_chat": "/v1", "anthropic_messages": "", "gemini_generate": ""}


def sample_chat() -> chat_pb2.ChatRequest:
    """A typical routed request: system prompt, a few turns, ~1 KB of text."""
    text = "Summarise the following support ticket in two sentences. " * 8
    return chat_pb2.ChatRequest(
        messages=[
            chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text="You are concise.")]),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]),
            chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, content=[chat_pb2.ContentPart(text="Which ticket?")]),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]),
        ],
        sampling=chat_pb2.SamplingParams(temperature=0.3, max_tokens=200),
    )


async def fetch_answers(output_tokens: int) -> dict[tuple[str, bool], bytes]:
    """One real answer per dialect and mode from the simulator."""
    config = SimulatorConfig(listen="127.0.0.1:0", default=ModelKnobs(output_tokens=output_tokens))
    runner, port = await start_simulator(config)
    answers: dict[tuple[str, bool], bytes] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for name, dialect in dialect_registry().items():
                provider = PROVIDER_OF[name]
                for stream in (False, True):
                    call = Call(provider=provider, model="bench", chat=sample_chat())
                    wire = dialect.build_request(call, Quirks(), stream=stream)
                    url = f"http://127.0.0.1:{port}/{provider}{PREFIX[name]}{wire.path}"
                    async with session.post(url, data=ENCODER.encode(wire.body), headers=dict(wire.headers)) as r:
                        answers[(name, stream)] = await r.read()
                        assert r.status == 200, answers[(name, stream)]
    finally:
        await runner.cleanup()
    return answers


def cpu_per_call_us(name: str, stream: bool, answer: bytes, calls: int) -> list[float]:
    dialect = dialect_registry()[name]
    call = Call(provider=PROVIDER_OF[name], model="bench", chat=sample_chat())
    quirks = Quirks()
    chunks = [answer[i : i + 512] for i in range(0, len(answer), 512)]  # arrives in network-sized reads
    rounds = []
    for _ in range(5):
        started = time.process_time_ns()
        for _ in range(calls):
            wire = dialect.build_request(call, quirks, stream=stream)
            ENCODER.encode(wire.body)
            chars = prompt_chars(call.chat)
            if not stream:
                dialect.parse_response(answer, chars)
                continue
            parser, decoder = SseParser(), dialect.stream_decoder(chars)
            for chunk in chunks:
                for event in parser.feed(chunk):
                    decoder.on_event(event.event, event.data)
            for event in parser.close():
                decoder.on_event(event.event, event.data)
            decoder.close()
            decoder.result()
        rounds.append((time.process_time_ns() - started) / calls / 1000)
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--output-tokens", type=int, default=50, help="answer length (stream events = tokens)")
    args = parser.parse_args()
    answers = asyncio.run(fetch_answers(args.output_tokens))
    print(f"adapter CPU per call, {args.output_tokens}-token answers, median of 5 rounds x {args.calls} calls")
    print(f"{'dialect':<20} {'mode':<8} {'us/call':>8} {'answer bytes':>13}")
    for (name, stream), answer in answers.items():
        rounds = cpu_per_call_us(name, stream, answer, args.calls)
        mode = "stream" if stream else "unary"
        print(f"{name:<20} {mode:<8} {statistics.median(rounds):>8.1f} {len(answer):>13}")


if __name__ == "__main__":
    main()
