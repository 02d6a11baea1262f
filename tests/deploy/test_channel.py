"""Channels between services: round_robin over every replica, retries of UNAVAILABLE only, survive a lost replica."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.errors import BourseError, Kind
from shared.grpc_errors import from_rpc_error
from shared.logging import get_logger
from shared.serving import ServiceServer, client_service_config, insecure_channel, new_server

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


# --- client-side health checking and draining --------------------------------------------------------------------


@dataclass
class HealthyReplica:
    """A Bourse server (shared.serving.new_server: health, error interceptor) answering Echo with its name."""

    name: str
    service: ServiceServer | None = None

    async def start(self) -> None:
        async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return self.name.encode()

        self.service = new_server(
            listen="127.0.0.1:0", service_names=["bourse.test.v1.EchoService"], logger=get_logger("t")
        )
        handler = grpc.method_handlers_generic_handler(
            "bourse.test.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
        )
        self.service.server.add_generic_rpc_handlers((handler,))
        await self.service.start()

    @property
    def port(self) -> int:
        assert self.service is not None
        return self.service.port


async def test_health_watch_works_through_the_error_interceptor() -> None:
    replica = HealthyReplica("a")
    await replica.start()
    assert replica.service is not None
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            await replica.service.set_serving(False)
            second = await watch.read()
            assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
    finally:
        await replica.service.stop(0)


async def test_health_checked_channels_skip_replicas_that_are_not_serving() -> None:
    a, b = HealthyReplica("a"), HealthyReplica("b")
    await a.start()
    await b.start()
    assert a.service is not None and b.service is not None
    try:
        async with insecure_channel(f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}", health_checked=True) as channel:
            await wait_until_both_answer(channel)
            await a.service.set_serving(False)  # draining: no new calls, although it still accepts them
            await wait_until_only(channel, "b")
            assert [await call(channel) for _ in range(20)] == ["b"] * 20
            await a.service.set_serving(True)
            await wait_until_both_answer(channel)
    finally:
        await a.service.stop(0)
        await b.service.stop(0)


async def test_a_draining_replica_loses_no_call_under_load() -> None:
    a, b = HealthyReplica("a"), HealthyReplica("b")
    await a.start()
    await b.start()
    assert a.service is not None and b.service is not None
    answers: list[str] = []
    try:
        async with insecure_channel(f"ipv4:127.0.0.1:{a.port},127.0.0.1:{b.port}", health_checked=True) as channel:
            await wait_until_both_answer(channel)

            async def worker() -> None:
                for _ in range(50):
                    answers.append(await call(channel))  # noqa: PERF401 - the test watches progress as it goes

            load = asyncio.gather(*(worker() for _ in range(8)))
            while len(answers) < 50:
                assert not load.done()
                await asyncio.sleep(0.001)
            await a.service.stop(grace_s=2.0, drain_s=0.3)
            await load
    finally:
        await b.service.stop(0)
    assert len(answers) == 400
    assert answers[-1] == "b"


async def wait_until_both_answer(channel: grpc.aio.Channel) -> None:
    seen: set[str] = set()
    for _ in range(400):
        seen.add(await call(channel))
        if seen == {"a", "b"}:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {seen} answered")


async def wait_until_only(channel: grpc.aio.Channel, name: str) -> None:
    for _ in range(400):
        if {await call(channel) for _ in range(4)} == {name}:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"calls still reach replicas other than {name}")


async def test_an_application_unavailable_is_not_repeated_by_the_channel() -> None:
    # A provider that is down is an answer (the router fails over itself); repeating it would pay twice.
    calls = Counter[str]()

    async def failing(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        calls["total"] += 1
        raise BourseError("provider down", kind=Kind.UNAVAILABLE, reason="UPSTREAM_UNAVAILABLE")

    service = new_server(listen="127.0.0.1:0", service_names=["bourse.test.v1.EchoService"], logger=get_logger("t"))
    service.server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "bourse.test.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(failing)}
            ),
        )
    )
    await service.server.start()
    try:
        async with insecure_channel(f"127.0.0.1:{service.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(channel)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert from_rpc_error(caught.value).reason == "UPSTREAM_UNAVAILABLE"
        assert calls["total"] == 1
    finally:
        await service.stop(0)
