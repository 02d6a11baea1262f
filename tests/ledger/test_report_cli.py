"""`bourse report` against a running ledger service and against a ledger file; its errors."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from services.ledger.core.store import LedgerStore
from services.ledger.server import LedgerServer
from shared.errors import InvalidRequest, NotFound
from shared.events import subjects
from shared.events.publisher import EventPublisher
from shared.logging import get_logger
from shared.pricing.model_prices import find_price, read_prices
from tests.support.eventually import eventually

from .sample_events import event

pytestmark = pytest.mark.slow  # the `bourse report` CLI in child processes: seconds each

PRICES = {
    "openai/gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0},
    "acme/gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 1},
}


async def _bourse(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "report",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(PRICES))
    return path


async def test_report_from_the_service_as_json(ledger: LedgerServer, nc: NATS, price_file: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    events = [
        event(tenant=tenant, model="gpt-4o-mini", cost_micro_usd=45),
        event(tenant=tenant, model="gpt-4.1-nano", cost_micro_usd=20),
    ]
    publisher = EventPublisher(nc=nc, logger=get_logger("test"))
    publisher.start()
    for e in events:
        publisher.publish(subjects.telemetry(e.provider, e.model), e, msg_id=e.request_id)
    assert await publisher.flush(10)
    await publisher.close()
    assert ledger.store is not None
    store = ledger.store
    await eventually(lambda: store.query("SELECT count(*) FROM requests WHERE tenant = ?", [tenant])[0][0] == 2)
    code, out, err = await _bourse(
        "--ledger",
        f"127.0.0.1:{ledger.port}",
        "--tenant",
        tenant,
        "--by",
        "model",
        "--format",
        "json",
        "--quality",
        "--compare-to",
        "openai/gpt-4o",
        "--prices",
        str(price_file),
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["report"]["total"]["requests"] == 2
    assert result["report"]["total"]["spend_micro_usd"] == 65
    assert [(r["model"], r["spend_micro_usd"]) for r in result["report"]["rows"]] == [
        ("gpt-4o-mini", 45),
        ("gpt-4.1-nano", 20),
    ]
    assert {r["model"] for r in result["quality"]} == {"gpt-4o-mini", "gpt-4.1-nano"}
    cf = result["counterfactual"]
    assert (cf["total"]["counterfactual_micro_usd"], cf["total"]["savings_micro_usd"]) == (1500, 1435)
    assert sorted(r["key"] for r in cf["rows"]) == ["gpt-4.1-nano", "gpt-4o-mini"]


async def test_report_from_a_ledger_file_as_table(tmp_path: Path, price_file: Path) -> None:
    path = tmp_path / "copy.duckdb"
    store = LedgerStore(path)
    store.insert_requests([event(tenant="acme"), event(tenant="globex", cost_micro_usd=2_000_000)])
    store.close()
    code, out, err = await _bourse(
        "--db", str(path), "--by", "tenant", "--compare-to", "openai/gpt-4o", "--prices", str(price_file)
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["tenant", "requests", "spend"]
    assert lines[2].startswith("globex") and "$2.00" in lines[2]
    acme = next(line for line in lines if line.startswith("acme"))
    assert " 45 µ$ " in acme, acme  # micro-dollars in a unit that shows them, not "$0.000045"
    assert any(line.startswith("TOTAL") and " 2 " in line for line in lines)
    assert "Counterfactual" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--since", "5x"], 2, "--since"),
        (["--start", "not-a-time"], 2, "--start"),
        (["--start", "2026-11-02", "--end", "2026-11-01"], 2, "end_ms"),
        (["--by", "colour"], 2, "group_by"),
        (["--compare-to", "nope/nope"], 2, "no prices for model"),
        (["--compare-to", "gpt-4o"], 2, "ambiguous"),
        (["--ledger", "127.0.0.1:1"], 1, "not reachable"),
        (["--db", "/nonexistent/ledger.duckdb"], 2, "no ledger file"),
    ],
)
async def test_bad_input_is_a_clear_error(args: list[str], code: int, message: str, price_file: Path) -> None:
    if "--compare-to" in args:
        args = [*args, "--prices", str(price_file)]
    got, out, err = await _bourse(*args)
    assert got == code, (out, err)
    assert message in err and out == ""


def test_prices_from_a_manifest_and_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "version": 1,
                "models": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o",
                        "tier": "frontier",
                        "prices": {"input_per_mtok": 2.5, "output_per_mtok": 10, "cached_input_per_mtok": 1.25},
                    },
                    {
                        "provider": "together",
                        "model": "meta-llama/Llama-3.3-70B",
                        "prices": {"input_per_mtok": 0.88, "output_per_mtok": 0.88},
                    },
                ],
            }
        )
    )
    prices = read_prices(manifest)
    assert find_price("gpt-4o", prices).cached_input_per_mtok == 1.25
    assert find_price("meta-llama/Llama-3.3-70B", prices).provider == "together"
    with pytest.raises(NotFound):
        find_price("claude", prices)
    bad = tmp_path / "bad.json"
    bad.write_text('{"gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 1}}')
    with pytest.raises(InvalidRequest, match="provider/model"):
        read_prices(bad)
    bad.write_text('{"models": [{"provider": "p"}]}')
    with pytest.raises(InvalidRequest, match="not a manifest"):
        read_prices(bad)
    with pytest.raises(InvalidRequest, match="cannot read"):
        read_prices(tmp_path / "missing.json")
