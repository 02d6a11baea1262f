"""`bourse report`: spend, tokens, latency, errors, cache and local share from the ledger; quality-to-cost
ranking; counterfactual spend on one named model.

Asks the ledger service over gRPC (default 127.0.0.1:50055), or reads a ledger file directly with --db.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import msgspec
from bourse.ledger.v1 import ledger_service_pb2 as pb
from bourse.ledger.v1 import ledger_service_pb2_grpc as pb_grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from services.ledger.api import (
    LedgerStore,
    ModelPrice,
    default_manifest_path,
    find_price,
    format_micro_usd,
    read_prices,
    reports,
)
from shared.errors import BourseError, FieldViolation, InvalidRequest, Reason
from shared.grpc_errors import from_rpc_error

_GROUPS = {
    "provider": pb.GROUP_BY_PROVIDER,
    "model": pb.GROUP_BY_MODEL,
    "task_kind": pb.GROUP_BY_TASK_KIND,
    "tenant": pb.GROUP_BY_TENANT,
}
_SPAN = re.compile(r"^(\d+)([smhdw])$")
_SPAN_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
RPC_TIMEOUT_S = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("report", help="spend, latency, quality-to-cost and counterfactual reports")
    p.add_argument("--ledger", default="127.0.0.1:50055", help="ledger gRPC address (default %(default)s)")
    p.add_argument("--db", type=Path, help="read this ledger file directly instead of asking the service")
    when = p.add_argument_group("time range (default: everything)")
    when.add_argument("--since", help="a span ending now: 30m, 24h, 7d, 2w")
    when.add_argument("--start", help="ISO 8601 time (UTC unless it says otherwise) or epoch milliseconds")
    when.add_argument("--end", help="ISO 8601 time or epoch milliseconds (exclusive)")
    p.add_argument("--by", default="provider,model", help="group by, comma separated: provider,model,task_kind,tenant")
    for name in ("tenant", "provider", "model", "task-kind"):
        p.add_argument(f"--{name}", default="", help=f"only this {name.replace('-', ' ')}")
    p.add_argument("--quality", action="store_true", help="add the quality-to-cost ranking per task kind")
    p.add_argument("--min-scored", type=int, default=0, help="scores below which a ranking is flagged thin (30)")
    p.add_argument("--compare-to", help="counterfactual: price all traffic on this model (provider/model)")
    p.add_argument("--prices", type=Path, help="price file for --compare-to (default: the packaged manifest)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        flt = _filter(args)
        groups = [g.strip() for g in args.by.split(",") if g.strip()] if args.by else []
        reports.check_dimensions(groups)
        target = _target(args) if args.compare_to else None
        if args.db:
            result = _from_file(args.db, flt, groups, target, args)
        else:
            result = _from_service(args.ledger, flt, groups, target, args)
    except BourseError as error:
        print(f"bourse report: {error.message}", file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        return 2 if error.reason in (Reason.INVALID_REQUEST, Reason.NOT_FOUND) else 1
    result["range"] = {"start_ms": flt.start_ms, "end_ms": flt.end_ms}
    if args.format == "json":
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    else:
        sys.stdout.write(_tables(result, groups))
    return 0


def _filter(args: argparse.Namespace) -> reports.Filter:
    now_ms = int(time.time() * 1000)
    start_ms = end_ms = 0
    if args.since:
        match = _SPAN.match(args.since)
        if not match:
            raise InvalidRequest(
                f"--since {args.since!r}: use a number and a unit (s, m, h, d, w), e.g. 24h",
                violations=[FieldViolation("since", "expected e.g. 30m, 24h, 7d")],
            )
        start_ms = now_ms - int(match.group(1)) * _SPAN_S[match.group(2)] * 1000
    if args.start:
        start_ms = _time_ms(args.start, "start")
    if args.end:
        end_ms = _time_ms(args.end, "end")
    flt = reports.Filter(
        start_ms=start_ms,
        end_ms=end_ms,
        tenant=args.tenant,
        provider=args.provider,
        model=args.model,
        task_kind=args.task_kind,
    )
    flt.validate()
    return flt


def _time_ms(text: str, name: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidRequest(
            f"--{name} {text!r} is not an ISO 8601 time or epoch milliseconds",
            violations=[FieldViolation(name, str(error))],
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _target(args: argparse.Namespace) -> ModelPrice:
    path = args.prices or default_manifest_path()
    if not path.exists():
        raise InvalidRequest(
            f"no price file: {path} does not exist; pass --prices FILE (a manifest or provider/model price map)",
            violations=[FieldViolation("prices", "file not found")],
        )
    return find_price(args.compare_to, read_prices(path))


def _from_file(
    path: Path, flt: reports.Filter, groups: list[str], target: ModelPrice | None, args: argparse.Namespace
) -> dict[str, Any]:
    if not path.exists():
        raise InvalidRequest(f"no ledger file at {path}", violations=[FieldViolation("db", "file not found")])
    store = LedgerStore(path, read_only=True)
    try:
        result: dict[str, Any] = {"report": asdict(reports.report(store, flt, groups))}
        if args.quality:
            result["quality"] = [asdict(r) for r in reports.quality_ranking(store, flt, args.min_scored)]
        if target is not None:
            cf = reports.counterfactual(store, flt, target, groups[0] if groups else "")
            result["counterfactual"] = asdict(cf)
        return result
    finally:
        store.close()


def _as_dict(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return data


def _int_fields(row: dict[str, Any]) -> dict[str, Any]:
    # JSON mapping of protobuf writes int64 as strings; the report speaks numbers.
    return {k: int(v) if isinstance(v, str) and v.lstrip("-").isdigit() and k != "key" else v for k, v in row.items()}


def _from_service(
    address: str, flt: reports.Filter, groups: list[str], target: ModelPrice | None, args: argparse.Namespace
) -> dict[str, Any]:
    proto_filter = pb.LedgerFilter(**asdict(flt))
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.LedgerServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            reply = stub.GetReport(
                pb.GetReportRequest(filter=proto_filter, group_by=[_GROUPS[g] for g in groups]), timeout=RPC_TIMEOUT_S
            )
            result: dict[str, Any] = {
                "report": {
                    "rows": [_int_fields(_as_dict(r)) for r in reply.rows],
                    "total": _int_fields(_as_dict(reply.total)),
                }
            }
            if args.quality:
                ranking = stub.GetQualityRanking(
                    pb.GetQualityRankingRequest(filter=proto_filter, min_scored=args.min_scored), timeout=RPC_TIMEOUT_S
                )
                result["quality"] = [_int_fields(_as_dict(r)) for r in ranking.rows]
            if target is not None:
                price = _proto_price(target)
                cf = stub.GetCounterfactual(
                    pb.GetCounterfactualRequest(
                        filter=proto_filter,
                        target=price,
                        group_by=_GROUPS[groups[0]] if groups else pb.GROUP_BY_UNSPECIFIED,
                    ),
                    timeout=RPC_TIMEOUT_S,
                )
                result["counterfactual"] = {
                    "target": asdict(target),
                    "total": _int_fields(_as_dict(cf.total)),
                    "rows": [_int_fields(_as_dict(r)) for r in cf.rows],
                }
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                raise BourseError(
                    f"ledger not reachable at {address} (start it with `bourse up`, or read a file with --db)",
                    reason=Reason.LEDGER_UNREACHABLE,
                ) from error
            raise from_rpc_error(error) from error
    return result


def _proto_price(target: ModelPrice) -> pb.ModelPrice:
    tiers = [pb.PriceTier(**msgspec.structs.asdict(tier)) for tier in target.tiers]
    return pb.ModelPrice(**{**asdict(target), "tiers": tiers})


def _usd(micro: float) -> str:
    return format_micro_usd(micro)  # the dashboard's rule: $, m$ or µ$ as the amount needs


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.rjust(w) if i >= 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def _figures(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['requests']:,}",
        _usd(row["spend_micro_usd"]),
        f"{row['prompt_tokens']:,}",
        f"{row['completion_tokens']:,}",
        f"{row['p50_latency_ms']:.0f}",
        f"{row['p95_latency_ms']:.0f}",
        f"{row['retries']:,}",
        f"{100 * row['error_rate']:.1f}%",
        f"{100 * row['cache_hit_rate']:.1f}%",
        _usd(row["saved_micro_usd"]),
        f"{100 * row['local_share']:.1f}%",
    ]


_FIGURE_HEADERS = (
    "requests",
    "spend",
    "prompt tok",
    "compl tok",
    "p50 ms",
    "p95 ms",
    "retries",
    "errors",
    "cache hit",
    "saved",
    "local",
)


def _tables(result: dict[str, Any], groups: list[str]) -> str:
    out: list[str] = []
    report = result["report"]
    key_headers = groups or ["all"]
    rows = [[" ".join(str(r[g]) for g in groups) or "all", *_figures(r)] for r in report["rows"]]
    rows.append(["TOTAL", *_figures(report["total"])])
    out.append(_table([" ".join(key_headers), *_FIGURE_HEADERS], rows))
    if "quality" in result:
        out.append("\nQuality to cost, per task kind (score per dollar of mean cost; * = thin evidence)\n")
        q_rows = [
            [
                r["task_kind"],
                str(r["rank"] or "-"),
                f"{r['provider']}/{r['model']}",
                f"{r['scored']}/{r['requests']}" + ("*" if r["thin_evidence"] else ""),
                str(r.get("scored_low", 0)),
                f"{r['mean_score']:.3f}",
                _usd(r["mean_cost_micro_usd"]),
                f"{r['score_per_usd']:,.0f}",
            ]
            for r in result["quality"]
        ]
        out.append(_table(["task kind", "rank", "model", "scored/req", "low", "score", "cost/req", "score/$"], q_rows))
    if "counterfactual" in result:
        cf = result["counterfactual"]
        t = cf["target"]
        out.append(
            f"\nCounterfactual: the same successful requests sent to {t['provider']}/{t['model']} "
            f"(${t['input_per_mtok']}/${t['output_per_mtok']} per million tokens)\n"
        )
        cf_rows = [
            [
                r["key"] or "all",
                f"{r['requests']:,}",
                _usd(r["actual_micro_usd"]),
                _usd(r["counterfactual_micro_usd"]),
                _usd(r["savings_micro_usd"]),
                f"{100 * r['savings_ratio']:.1f}%",
            ]
            for r in [*cf["rows"], {**cf["total"], "key": "TOTAL"}]
        ]
        out.append(
            _table([groups[0] if groups else "group", "requests", "actual", "on target", "saved", "saved %"], cf_rows)
        )
    return "".join(out)
