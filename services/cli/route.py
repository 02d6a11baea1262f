"""`bourse route "..."`: send one request to the router and print the answer, the model, the cost and every
attempt. `--stream` prints the answer as it arrives; `--explain` prints the ranked candidates instead."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from typing import TextIO

import grpc
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as pb_grpc

from shared.grpc_errors import from_rpc_error
from shared.serving import insecure_channel

DEFAULT_TARGET = "127.0.0.1:50051"
_TASKS = [name.removeprefix("TASK_KIND_").lower() for name in routing_pb2.TaskKind.keys()][1:]  # noqa: SIM118


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("route", help="Send a request through the router and show how it was answered.")
    parser.add_argument("prompt", help="the user message")
    parser.add_argument("--router", default=os.environ.get("BOURSE_ROUTER_TARGET", DEFAULT_TARGET), help="host:port")
    parser.add_argument("--system", default="", help="a system prompt")
    parser.add_argument("--task", choices=_TASKS, default="chat", help="task kind (drives the local tier)")
    parser.add_argument("--labels", default="", help="classification labels, comma-separated")
    parser.add_argument("--pattern", default="", help="extraction: a regular expression the answer must match")
    parser.add_argument("--max-tokens", type=int, default=0, help="upper bound on generated tokens")
    parser.add_argument("--max-cost", type=int, default=0, help="max estimated cost in micro-USD (0 = none)")
    parser.add_argument("--latency-budget-ms", type=int, default=0, help="skip models whose P95 exceeds this")
    parser.add_argument("--allow", action="append", default=[], help="allowed model (repeatable)")
    parser.add_argument("--deny", action="append", default=[], help="denied model (repeatable)")
    parser.add_argument("--tenant", default="", help="tenant charged (default: 'default')")
    parser.add_argument("--hedge", action="store_true", help="hedge slow first attempts")
    parser.add_argument("--no-cache", action="store_true", help="skip the cache")
    parser.add_argument("--no-local", action="store_true", help="skip the local tier")
    parser.add_argument("--stream", action="store_true", help="stream the answer")
    parser.add_argument("--explain", action="store_true", help="rank candidates without calling any model")
    parser.add_argument(
        "--quality", choices=("balanced", "cheapest"), default=None, help="quality policy (default: the router's)"
    )
    parser.add_argument("--quality-target", type=float, default=0.0, help="chance of an acceptable answer (0-1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds")
    parser.set_defaults(func=run)


def build_request(args: argparse.Namespace) -> pb.RouteRequest:
    messages = []
    if args.system:
        messages.append(chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text=args.system)]))
    messages.append(chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=args.prompt)]))
    chat = chat_pb2.ChatRequest(messages=messages)
    if args.max_tokens:
        chat.sampling.max_tokens = args.max_tokens
    constraints = pb.RoutingConstraints(
        task_kind=f"TASK_KIND_{args.task.upper()}",
        max_cost_micro_usd=args.max_cost,
        latency_budget_ms=args.latency_budget_ms,
        allowed_models=args.allow,
        denied_models=args.deny,
        labels=[label.strip() for label in args.labels.split(",") if label.strip()],
        output_pattern=args.pattern,
        hedge=args.hedge,
        no_local=args.no_local,
        quality_target=args.quality_target,
    )
    if args.quality:
        constraints.quality_policy = pb.QualityPolicy.Value(f"QUALITY_POLICY_{args.quality.upper()}")  # type: ignore[assignment]
    constraints.cache.no_cache = args.no_cache
    context = pb.RequestContext(request_id=uuid.uuid4().hex, tenant_id=args.tenant)
    return pb.RouteRequest(chat=chat, constraints=constraints, context=context)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args, sys.stdout))
    except grpc.aio.AioRpcError as error:
        failure = from_rpc_error(error)
        print(f"bourse route: {error.code().name} {failure.reason}: {failure.message}", file=sys.stderr)
        for violation in failure.violations:
            print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        for key, value in sorted(failure.metadata.items()):
            print(f"  {key} = {value}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    request = build_request(args)
    async with insecure_channel(args.router) as channel:
        stub = pb_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
        if args.explain:
            explained = await stub.Explain(
                pb.ExplainRequest(chat=request.chat, constraints=request.constraints, context=request.context),
                timeout=args.timeout,
            )
            print_explain(explained, out)
            return 0
        if args.stream:
            summary = pb.RouteResponse()
            async for message in stub.RouteStream(
                pb.RouteStreamRequest(chat=request.chat, constraints=request.constraints, context=request.context),
                timeout=args.timeout,
            ):
                if message.WhichOneof("event") == "delta":
                    out.write(message.delta.content)
                    out.flush()
                else:
                    summary = message.summary
            out.write("\n")
            print_summary(summary, out)
            return 0
        response = await stub.Route(request, timeout=args.timeout)
        out.write(response.completion.content + "\n")
        print_summary(response, out)
        return 0


def print_summary(response: pb.RouteResponse, out: TextIO) -> None:
    served = routing_pb2.ServedFrom.Name(response.served_from).removeprefix("SERVED_FROM_").lower()
    usage = response.completion.usage
    out.write(
        f"-- model {response.provider}/{response.model} ({served})  cost {response.cost_micro_usd} micro-USD"
        f" (${response.cost_micro_usd / 1e6:.6f})"
    )
    if response.saved_micro_usd:
        out.write(f"  saved {response.saved_micro_usd} micro-USD")
    out.write(
        f"  tokens {usage.prompt_tokens}+{usage.completion_tokens}  {response.latency.total_us / 1000:.1f} ms"
        f"  request {response.request_id}\n"
    )
    for i, attempt in enumerate(response.attempts, 1):
        outcome = pb.AttemptOutcome.Name(attempt.outcome).removeprefix("ATTEMPT_OUTCOME_").lower()
        reason = f" {attempt.error_reason}" if attempt.error_reason else ""
        out.write(
            f"   attempt {i}: {attempt.provider}/{attempt.model} {outcome}{reason}"
            f"  {attempt.latency_us / 1000:.1f} ms  {attempt.cost_micro_usd} micro-USD\n"
        )


def print_explain(explained: pb.ExplainResponse, out: TextIO) -> None:
    out.write(f"estimated prompt tokens: {explained.estimated_prompt_tokens}")
    out.write("  (local tier first)\n" if explained.local_first else "\n")
    if explained.quality_target:
        out.write(
            f"quality target {explained.quality_target:.2f}, predicted difficulty {explained.predicted_difficulty:+.2f}"
            f" (need for a strong model {explained.predicted_need:+.2f})"
            + ("; no model meets it: highest estimate first\n" if explained.quality_target_unmet else "\n")
        )
    for i, c in enumerate(explained.candidates, 1):
        out.write(
            f"{i:3d}. {c.provider}/{c.model} [{c.region}]  ~{c.estimated_cost_micro_usd} micro-USD"
            f"  p50 {c.expected_latency_ms:.0f} ms  p95 {c.p95_latency_ms:.0f} ms\n"
        )
        if c.HasField("quality"):
            q = c.quality
            out.write(
                f"     quality {q.probability:.2f} (prior {q.prior:.2f}, posterior {q.posterior:.2f},"
                f" evidence {q.successes:.1f} good / {q.failures:.1f} poor)\n"
            )
    for r in explained.rejected:
        out.write(f"  x {r.provider}/{r.model}: {r.constraint} ({r.detail})\n")
