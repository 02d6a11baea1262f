"""A NATS cluster of nats-server processes on loopback (routes between every pair), for the multi-replica tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors
import nats.js.api as js_api
import nats.js.errors
from nats.js import JetStreamContext

from shared.events import streams
from shared.processes import NatsServer, free_port
from tests.support.eventually import eventually


@dataclass
class NatsCluster:
    nodes: list[NatsServer] = field(default_factory=list)

    @classmethod
    def create(cls, base: Path, size: int = 3, name: str = "bourse-test") -> NatsCluster:
        cluster_ports = [free_port() for _ in range(size)]
        nodes = []
        for index in range(size):
            routes = [f"nats://127.0.0.1:{port}" for i, port in enumerate(cluster_ports) if i != index]
            nodes.append(
                NatsServer(
                    data_dir=base / f"n{index}" / "data",
                    cluster_port=cluster_ports[index],
                    routes=routes,
                    cluster_name=name,
                    name=f"nats-{index}",
                )
            )
        return cls(nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    async def wait_jetstream(self, timeout_s: float = 60.0) -> None:
        """Wait until JetStream can place a stream on every node: the meta group has a leader and all peers.

        A leader alone is not enough: a node that joins late makes R3 placement fail ("no suitable peers").
        """
        nc = await nats.connect(servers=self.urls, connect_timeout=2)
        try:
            js = nc.jetstream(timeout=2)

            async def placed() -> bool:
                probe = js_api.StreamConfig(
                    name="PLACEMENT_PROBE", subjects=["placement.probe"], num_replicas=len(self.nodes)
                )
                await js.add_stream(probe)
                await js.delete_stream(probe.name)
                return True

            await eventually(
                placed,
                timeout_s=timeout_s,
                interval_s=0.2,
                what=f"a JetStream meta group of {len(self.nodes)} peers",
                retry_on=(nats.errors.TimeoutError, nats.js.errors.APIError, nats.errors.NoRespondersError),
            )
        finally:
            await nc.close()


async def create_replicated_streams(js: JetStreamContext, replicas: int = 3) -> None:
    """Every Bourse stream with `replicas` copies: what a production deployment sets up (docs/deploy.md)."""
    await streams.ensure_streams(js, replicas=replicas)


async def create_replicated_bucket(js: JetStreamContext, bucket: str, replicas: int = 3) -> None:
    await js.create_key_value(js_api.KeyValueConfig(bucket=bucket, history=1, replicas=replicas))


async def wait_replicas_current(
    js: JetStreamContext, stream: str, expected: int, timeout_s: float = 60.0
) -> js_api.StreamInfo:
    """Wait until the stream has a leader and `expected - 1` followers that are current (caught up)."""

    async def current() -> js_api.StreamInfo | None:
        info = await js.stream_info(stream)
        cluster = info.cluster
        if (
            cluster is not None
            and cluster.leader
            and len([r for r in cluster.replicas or [] if r.current]) == expected - 1
        ):
            return info
        return None

    info = await eventually(
        current,
        timeout_s=timeout_s,
        interval_s=0.2,
        what=f"stream {stream}: {expected - 1} current replicas",
        retry_on=(nats.errors.TimeoutError, nats.js.errors.APIError),
    )
    assert info is not None
    return info
