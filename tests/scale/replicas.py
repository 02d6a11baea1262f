"""Several replicas of the services as real processes on loopback, on a 3-node NATS cluster.

The simulator stands in for every provider; two provider-adapters and two routers run behind client-side
round_robin; one cache. Streams and the budget bucket are created with 3 replicas first, as a production
deployment does (docs/deploy.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nats

from services.cli.stack import CACHE, PROVIDER_ADAPTER, ROUTER, SIMULATOR, ServiceSpec, launch_service
from shared.processes import Child, Launch, Stack, free_port
from tests.scale.cluster import NatsCluster, create_replicated_bucket, create_replicated_streams

BUDGET_BUCKET = "bourse_budgets"
START_TIMEOUT_S = 120.0


def launch(spec: ServiceSpec, name: str, listen: str, env: Mapping[str, str]) -> Launch:
    quiet = {f"{spec.env_prefix}_LOG_LEVEL": "warning", **env}
    return launch_service(spec, listen, quiet, name=name, timeout_s=START_TIMEOUT_S)


@dataclass
class ReplicaStack:
    base: Path
    budgets: Sequence[Mapping[str, object]] = ()
    cluster: NatsCluster = field(init=False)
    stack: Stack = field(init=False)
    router_listens: list[str] = field(default_factory=list)
    router_launches: list[Launch] = field(default_factory=list)
    routers: list[Child] = field(default_factory=list)
    sim_url: str = field(init=False, default="")  # the simulator's control API (faults, stats)

    def __post_init__(self) -> None:
        self.cluster = NatsCluster.create(self.base / "nats")
        self.stack = Stack(log_dir=self.base / "log")

    @property
    def router_target(self) -> str:
        """One target naming both routers: the client load-balances with round_robin."""
        return "ipv4:" + ",".join(self.router_listens)

    async def start(self) -> None:
        self.cluster.start()
        await self.cluster.wait_jetstream()
        nc = await nats.connect(servers=self.cluster.urls)
        try:
            js = nc.jetstream()
            await create_replicated_streams(js, replicas=3)
            await create_replicated_bucket(js, BUDGET_BUCKET, replicas=3)
        finally:
            await nc.close()
        sim_listen = f"127.0.0.1:{free_port()}"
        await self.stack.start(launch(SIMULATOR, "simulator", sim_listen, {"BOURSE_SIMULATOR_SEED": "7"}))
        self.sim_url = f"http://{sim_listen}"
        adapters = []
        for index in range(2):
            listen = f"127.0.0.1:{free_port()}"
            env = {"BOURSE_ADAPTER_SIMULATOR_URL": f"http://{sim_listen}"}
            await self.stack.start(launch(PROVIDER_ADAPTER, f"provider_adapter-{index}", listen, env))
            adapters.append(listen)
        cache_listen = f"127.0.0.1:{free_port()}"
        cache_env = {"BOURSE_CACHE_NATS_URL": self.cluster.urls[2], "BOURSE_CACHE_DATA_DIR": str(self.base / "cache")}
        await self.stack.start(launch(CACHE, "cache", cache_listen, cache_env))
        for index in range(2):
            listen = f"127.0.0.1:{free_port()}"
            env = {
                "BOURSE_ROUTER_NATS_URL": self.cluster.urls[index],  # router-0 on node 0, router-1 on node 1
                "BOURSE_ROUTER_ADAPTER_TARGET": "ipv4:" + ",".join(adapters),
                "BOURSE_ROUTER_CACHE_TARGET": cache_listen,
                "BOURSE_ROUTER_BUDGETS": json.dumps(list(self.budgets)),
                "BOURSE_ROUTER_BUDGET_BUCKET": BUDGET_BUCKET,
                "BOURSE_ROUTER_SHUTDOWN_GRACE_S": "10",
                "BOURSE_ROUTER_QUALITY": '{"default_policy": "cheapest", "use_predictor": false}',
            }
            router = launch(ROUTER, f"router-{index}", listen, env)
            self.router_listens.append(listen)
            self.router_launches.append(router)
            self.routers.append(await self.stack.start(router))

    async def restart_router(self, index: int) -> None:
        self.routers[index] = await self.stack.start(self.router_launches[index])

    def stop(self) -> None:
        self.stack.stop()
        self.cluster.stop()
