"""Channels between services: round_robin over every replica, retries of UNAVAILABLE only, survive a lost replica."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
import pytest

from shared.serving import client_service_config, insecure_channel

METHOD = "/bourse.test.v1.EchoService/Echo"


@dataclass
class Replica:
    """A real gRPC server on port 0 that answers Echo with its name, or fails with `fail_code` `fail_times` times."""

    name: str
    fail_code: grpc.StatusCode | None = None
    fail_times: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    server: grpc.aio.Server | None = None
    port: int = 0

    async def start(self) -> None:
        async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            self.calls["total"] += 1
            if self.fail_code is not None and self.calls["failed"] < self.fail_times:
                self.calls["failed"] += 1
                await context.abort(self.fail_code, f"{self.name} failing")
            return self.name.encode()

        handler = grpc.method_handlers_generic_handler(
            "bourse.test.v1.EchoService",
            {"Echo": grpc.unary_unary_rpc_method_handler(echo)},
        )
        self.server = grpc.aio.server()
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(None)


@pytest.fixture
async def replicas() -> AsyncIterator[Callable[..., Replica]]:
    started: list[Replica] = []

    def make(name: str, **kwargs: object) -> Replica:
        replica = Replica(name, **kwargs)  # type: ignore[arg-type]
        started.append(replica)
        return replica

    yield make
    for replica in started:
        await replica.stop()


def target(*replicas: Replica) -> str:
    return "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)


async def call(channel: grpc.aio.Channel) -> str:
    reply: bytes = await channel.unary_unary(METHOD)(b"x", timeout=5.0)
    return reply.decode()


def test_service_config_is_valid_json_with_round_robin_and_unavailable_retry() -> None:
    config = json.loads(client_service_config(4))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    policy = config["methodConfig"][0]["retryPolicy"]
    assert policy["maxAttempts"] == 4
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]


async def test_calls_are_spread_over_every_replica(replicas: Callable[..., Replica]) -> None:
    a, b = replicas("a"), replicas("b")
    await a.start()
    await b.start()
    async with insecure_channel(target(a, b)) as channel:
        answers = Counter([await call(channel) for _ in range(40)])
    assert set(answers) == {"a", "b"}
    assert min(answers.values()) >= 10  # round_robin, not pick_first


async def test_unavailable_is_retried(replicas: Callable[..., Replica]) -> None:
    flaky = replicas("flaky", fail_code=grpc.StatusCode.UNAVAILABLE, fail_times=2)
    await flaky.start()
    async with insecure_channel(target(flaky)) as channel:
        assert await call(channel) == "flaky"
    assert flaky.calls["failed"] == 2
    assert flaky.calls["total"] == 3


async def test_other_errors_are_not_retried(replicas: Callable[..., Replica]) -> None:
    broken = replicas("broken", fail_code=grpc.StatusCode.INTERNAL, fail_times=1)
    await broken.start()
    async with insecure_channel(target(broken)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(channel)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert broken.calls["total"] == 1


async def test_a_replica_that_goes_away_loses_no_call(replicas: Callable[..., Replica]) -> None:
    a, b = replicas("a"), replicas("b")
    await a.start()
    await b.start()
    async with insecure_channel(target(a, b)) as channel:
        assert {await call(channel) for _ in range(10)} == {"a", "b"}
        await a.stop()
        answers = [await call(channel) for _ in range(20)]
    assert answers == ["b"] * 20
