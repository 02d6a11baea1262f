"""The committed JSON Schemas match the event Structs, and events validate against them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import msgspec
import pytest

from shared.events.schemas import EVENT_TYPES, BudgetAlert, CostEvent, Feedback

from ..ledger.sample_events import event

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_event_schemas.py"
SCHEMAS = ROOT / "schemas" / "events"


def _check(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--out", str(out)], capture_output=True, text=True, check=False
    )


def test_committed_schemas_are_current() -> None:
    result = _check(SCHEMAS)
    assert result.returncode == 0, result.stderr
    assert sorted(p.stem for p in SCHEMAS.glob("*.json")) == sorted(EVENT_TYPES)


def test_check_fails_on_a_stale_or_missing_schema(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True)
    assert _check(tmp_path).returncode == 0
    cost = tmp_path / "cost.json"
    cost.write_text(cost.read_text().replace('"cost_micro_usd"', '"cost_usd"'))
    stale = _check(tmp_path)
    assert stale.returncode == 1 and "cost.json" in stale.stderr
    cost.unlink()
    assert _check(tmp_path).returncode == 1


def _schema(kind: str) -> dict[str, object]:
    schema: dict[str, object] = json.loads((SCHEMAS / f"{kind}.json").read_text())
    return schema


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("telemetry", event()),
        (
            "cost",
            CostEvent(
                request_id="r", ts_ms=1, tenant="t", provider="p", model="m", served_from="remote", task_kind="chat"
            ),
        ),
        (
            "budget_alert",
            BudgetAlert(
                ts_ms=1,
                tenant="t",
                limit="daily",
                threshold_pct=80,
                spent_micro_usd=8,
                limit_micro_usd=10,
                period="2026-11-28",
            ),
        ),
        ("feedback", Feedback(request_id="r", tenant="t", score=0.5)),
    ],
)
def test_events_validate_against_their_schema(kind: str, payload: msgspec.Struct) -> None:
    jsonschema.validate(json.loads(msgspec.json.encode(payload)), _schema(kind))


def test_schema_rejects_a_malformed_cost_event() -> None:
    bad = {"request_id": "r", "ts_ms": "yesterday", "tenant": "t", "provider": "p", "model": "m"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema("cost"))
