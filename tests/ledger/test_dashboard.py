"""The dashboard: its JSON API over real HTTP, and the page rendered by headless Chromium from a known ledger.

Asserts the numbers a person reads (micro-dollar amounts in a unit that shows them, never "$0.0000"), that the
numbers and tables render with the chart library absent, that filters in the URL change them, that a bad filter
is named while the unfiltered view shows, and the empty state. Screenshots are checked to be non-blank.

Needs Debian's `chromium` (apt-get install -y chromium; .ci/run installs it) and Node.js-free: the chart library
is vendored in the package.
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.ledger.core.store import LedgerStore
from services.ledger.dashboard_http import VENDOR_DIR, Dashboard
from services.ledger.server import LedgerServer
from shared.logging import get_logger

from .browser_page import browser_page
from .dashboard_ledger import (
    COUNTERFACTUAL_EARLIER,
    COUNTERFACTUAL_TODAY,
    END_MS,
    REQUESTS_ALL,
    REQUESTS_LAST_HOUR,
    SPEND_ACME,
    SPEND_ALL,
    seed_known_ledger,
)
from .png_pixels import read_pixels
from .sample_events import event

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]
SPEND_BLUE = (0x33, 0x66, 0xCC)  # first series colour and the latency bars in dashboard.js
WEEK = f"range=7d&end_ms={END_MS}"

Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """Start a real dashboard over a real ledger file: `await serve(seed=True, charts=True)` -> base URL."""
    started: list[tuple[Dashboard, LedgerStore]] = []

    async def start(
        *, seed: bool = True, charts: bool = True, price_age: Callable[[], dict[str, object]] | None = None
    ) -> str:
        store = LedgerStore(tmp_path / f"ledger-{len(started)}.duckdb")
        if seed:
            seed_known_ledger(store)
        dashboard = Dashboard(
            store,
            get_logger("dashboard-test"),
            window_s=3600,
            refresh_s=60,
            vendor_dir=VENDOR_DIR if charts else tmp_path / "no-vendor",
            price_age=price_age,
        )
        port = await dashboard.start("127.0.0.1:0")
        started.append((dashboard, store))
        return f"http://127.0.0.1:{port}"

    yield start
    for dashboard, store in started:
        await dashboard.close()
        store.close()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is required: apt-get install -y chromium")


async def _run_chromium(profile: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        _chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def _dom(url: str, tmp_path: Path) -> str:
    return await _run_chromium(tmp_path / f"profile-{abs(hash(url))}", "--dump-dom", url)


def _shown(dom: str, element_id: str) -> str:
    """The text a person sees in the element with this id (no nested markup in the ones checked)."""
    match = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>([^<]*)<', dom)
    assert match, f"no element #{element_id} in the page"
    return html.unescape(match.group(1)).strip()


def _hidden(dom: str, element_id: str) -> bool:
    match = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', dom)
    assert match, f"no element #{element_id} in the page"
    return " hidden" in match.group(0)


def _row(dom: str, table_id: str, first_cell: str) -> list[str]:
    """The cells of the row of a table whose first cell reads `first_cell`."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', dom, re.S)
    assert table, f"no table #{table_id}"
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = [html.unescape(re.sub(r"<[^>]*>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in #{table_id}")


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


# --- the JSON API -------------------------------------------------------------------------------------------------


async def test_snapshot_api_of_the_running_service(ledger: LedgerServer) -> None:
    assert ledger.store is not None
    now = int(time.time() * 1000)
    ledger.store.insert_requests([event(cost_micro_usd=7, ts_ms=now - 7_200_000), event(cost_micro_usd=7, ts_ms=now)])
    status, snap = await _get(f"http://127.0.0.1:{ledger.http_port}/api/snapshot?range=1h")
    assert status == 200
    assert snap["summary"] == {**snap["summary"], "requests": 1, "spend_micro_usd": 7}
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{ledger.http_port}/") as response:
        assert response.status == 200 and 'id="t-spend"' in await response.text()


async def test_snapshot_holds_exact_micro_dollars(serve: Serve) -> None:
    base = await serve()
    status, snap = await _get(f"{base}/api/snapshot?{WEEK}")
    assert status == 200
    summary, savings = snap["summary"], snap["savings"]
    assert isinstance(summary, dict) and isinstance(savings, dict)
    assert (summary["requests"], summary["spend_micro_usd"]) == (REQUESTS_ALL, SPEND_ALL)
    assert savings["target"] == "openai/gpt-4o"
    assert [(d["day"], d["counterfactual_micro_usd"]) for d in savings["days"]] == [
        ("2026-11-18", COUNTERFACTUAL_EARLIER),
        ("2026-11-20", COUNTERFACTUAL_TODAY),
    ]
    total = savings["total"]
    assert total["net_saved_micro_usd"] == COUNTERFACTUAL_EARLIER + COUNTERFACTUAL_TODAY - SPEND_ALL
    assert (total["saved_cache_micro_usd"], total["saved_local_micro_usd"], total["bad_answers"]) == (15, 600, 1)
    cache = next(q for q in snap["quality"] if q["provider"] == "cache")
    assert (cache["scored"], cache["bad"], cache["requests"]) == (1, 1, 4)
    failed = [(q["task_kind"], q["model"], q["requests"], q["failed_checks"]) for q in snap["quality"]]
    failed = [row for row in failed if row[3]]
    assert failed == [("summarize", "gpt-4o-mini", 0, 1)]
    assert snap["options"]["tenant"] == ["acme", "globex", "initech"]


@pytest.mark.parametrize(
    ("query", "spend", "requests"),
    [
        ("tenant=acme", SPEND_ACME, 7),
        ("task_kind=summarize", 2_530_000, 2),
        ("provider=local", 0, 2),
        ("tenant=globex&range=1h", 30_000, 1),
    ],
)
async def test_filters_are_applied_server_side(serve: Serve, query: str, spend: int, requests: int) -> None:
    base = await serve()
    view = f"end_ms={END_MS}&{query}" if "range=" in query else f"{WEEK}&{query}"
    status, snap = await _get(f"{base}/api/snapshot?{view}")
    assert status == 200
    assert (snap["summary"]["spend_micro_usd"], snap["summary"]["requests"]) == (spend, requests)


async def test_the_comparison_model_is_chosen_by_the_view(serve: Serve) -> None:
    base = await serve()
    _, on_4o = await _get(f"{base}/api/snapshot?{WEEK}")
    _, on_mini = await _get(f"{base}/api/snapshot?{WEEK}&compare=openai/gpt-4o-mini")
    assert on_mini["savings"]["target"] == "openai/gpt-4o-mini"
    # gpt-4o-mini costs 3/50 of gpt-4o per token (input, cached and output): the counterfactual shrinks by that factor.
    assert on_mini["savings"]["total"]["counterfactual_micro_usd"] * 50 == pytest.approx(
        on_4o["savings"]["total"]["counterfactual_micro_usd"] * 3,
        rel=0.001,
    )


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("range=banana", "range"),
        ("range=0h", "range"),
        ("range=91d", "range"),
        ("window_s=abc", "window_s"),
        ("window_s=5", "window_s"),
        ("end_ms=yesterday", "end_ms"),
        ("end_ms=-1", "end_ms"),
        ("end_ms=99999999999999999999", "end_ms"),
        ("tenant=nobody", "tenant"),
        ("task_kind=juggling", "task_kind"),
        ("provider=" + "x" * 201, "provider"),
        ("tenant=%00acme", "tenant"),
        ("compare=nope/nope", "compare"),
        ("compare=local/smollm2-135m-instruct", "compare"),
        ("colour=red", "colour"),
    ],
)
async def test_bad_views_answer_400_naming_the_parameter(serve: Serve, query: str, param: str) -> None:
    base = await serve()
    status, body = await _get(f"{base}/api/snapshot?{query}")
    assert status == 400
    error = body["error"]
    assert isinstance(error, dict)
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]
    assert "Traceback" not in str(error["message"])


# --- the page, in headless Chromium ---------------------------------------------------------------------------------


async def test_page_shows_the_known_figures(serve: Serve, tmp_path: Path) -> None:
    base = await serve()
    dom = await _dom(f"{base}/?{WEEK}", tmp_path)
    assert "update failed" not in dom and "$0.0000" not in dom
    assert _shown(dom, "t-requests") == str(REQUESTS_ALL)
    assert _shown(dom, "t-spend") == "$2.53"
    assert 'data-micro-usd="2530021"' in dom and 'title="2,530,021 µ$ exactly"' in dom
    assert _shown(dom, "t-saved") == "615 µ$"  # 15 by cache (net of the bad answer) + 600 by local
    assert _shown(dom, "s-target-label") == "All on openai/gpt-4o"
    assert _shown(dom, "s-counterfactual") == "486 m$"
    assert _shown(dom, "s-net") == "-$2.04"
    assert (_shown(dom, "s-cache"), _shown(dom, "s-local"), _shown(dom, "s-bad")) == ("15 µ$", "600 µ$", "1")
    today = ["2026-11-20", "10", "30 m$", "36 m$", "5.98 m$", "15 µ$", "600 µ$", "1"]
    assert _row(dom, "savings-table", "2026-11-20") == today
    assert _row(dom, "tenants-table", "acme") == ["acme", "7", "21 µ$"]  # micro-dollars, not "$0.0000"
    assert _row(dom, "quality-table", "classification")[1:4] == ["local/smollm2-135m-instruct", "2", "$0"]
    mini_rows = re.findall(r"<tr><td>summarize</td><td>openai/gpt-4o-mini</td>(.*?)</tr>", dom)
    assert len(mini_rows) == 1 and "<td>1 (100.0%)</td>" in mini_rows[0]  # its one answer failed the checks
    assert not _hidden(dom, "figures") and _hidden(dom, "empty") and _hidden(dom, "notice")

    shot = tmp_path / "dashboard.png"
    await _run_chromium(tmp_path / "profile-shot", f"--screenshot={shot}", f"{base}/?{WEEK}")
    width, height, pixels = read_pixels(shot)
    assert (width, height) == (1400, 1000)
    colours = Counter(pixels)
    assert len(colours) > 200, "screenshot is nearly uniform"
    assert colours.most_common(1)[0][1] / len(pixels) < 0.9, "screenshot is mostly one colour"
    assert colours[SPEND_BLUE] > 500, "the charts' colour is missing: charts were not drawn"


async def test_page_renders_its_numbers_without_the_chart_library(serve: Serve, tmp_path: Path) -> None:
    base = await serve(charts=False)
    async with aiohttp.ClientSession() as http, http.get(f"{base}/vendor/chart.umd.js") as response:
        assert response.status == 404
    dom = await _dom(f"{base}/?{WEEK}", tmp_path)
    assert re.search(r'<body[^>]*class="no-charts"', dom)
    assert "charts off" in _shown(dom, "status")
    assert _shown(dom, "t-spend") == "$2.53" and _shown(dom, "s-net") == "-$2.04"
    assert _row(dom, "tenants-table", "acme") == ["acme", "7", "21 µ$"]
    assert _row(dom, "savings-table", "2026-11-18")[2:4] == ["$2.50", "450 m$"]

    shot = tmp_path / "no-charts.png"
    await _run_chromium(tmp_path / "profile-shot", f"--screenshot={shot}", f"{base}/?{WEEK}")
    _, _, pixels = read_pixels(shot)
    colours = Counter(pixels)
    assert len(colours) > 100, "screenshot is nearly uniform: a blank page"
    assert colours[SPEND_BLUE] < 50, "no chart can have been drawn without the library"


@pytest.mark.parametrize(
    ("query", "requests", "spend"),
    [
        ("tenant=acme", "7", "21 µ$"),
        ("tenant=globex&task_kind=summarize", "2", "$2.53"),
        ("provider=local", "2", "$0"),
    ],
)
async def test_filters_in_the_url_change_the_numbers(
    serve: Serve, tmp_path: Path, query: str, requests: str, spend: str
) -> None:
    base = await serve()
    dom = await _dom(f"{base}/?{WEEK}&{query}", tmp_path)
    assert (_shown(dom, "t-requests"), _shown(dom, "t-spend")) == (requests, spend)
    assert _hidden(dom, "notice")
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title, "the page has no title"
    for pair in query.split("&"):  # the title names the view, so a shared link says what it shows
        name, value = pair.split("=")
        assert f"{name.replace('_', ' ')} {value}" in html.unescape(title.group(1))


async def test_the_header_shows_how_old_the_prices_are(serve: Serve, tmp_path: Path) -> None:
    age = {
        "as_of": "2026-11-01",
        "oldest_as_of": "2026-06-01",
        "oldest_age_days": 185,
        "max_age_days": 90.0,
        "stale_models": ["p/old"],
    }
    base = await serve(price_age=lambda: age)
    dom = await _dom(f"{base}/?{WEEK}", tmp_path)
    assert _shown(dom, "prices-age") == "prices as of 2026-11-01; oldest 185 days old (1 model(s) past 90 days)"
    element = re.search(r'<[^>]*\bid="prices-age"[^>]*>', dom)
    assert element and "stale" in element.group(0)  # marked, since a model is past the age limit


async def test_picking_filters_on_the_page_changes_the_numbers_and_the_url(serve: Serve, tmp_path: Path) -> None:
    base = await serve()
    async with browser_page(_chromium(), CHROMIUM_FLAGS, tmp_path / "profile", f"{base}/?{WEEK}") as page:
        await page.wait_for("document.getElementById('t-spend').textContent === '$2.53'")
        await page.evaluate(
            "(() => { const menu = document.querySelector('#filters select[name=tenant]'); menu.value = 'acme';"
            " menu.dispatchEvent(new Event('change', { bubbles: true })); })()"
        )
        await page.wait_for("document.getElementById('t-spend').textContent === '21 µ$'")
        assert await page.evaluate("document.getElementById('t-requests').textContent") == "7"
        await page.evaluate(
            "(() => { const menu = document.getElementById('compare'); menu.value = 'openai/gpt-6-luna';"
            " menu.dispatchEvent(new Event('change', { bubbles: true })); })()"
        )
        # acme's six good answers at 100 + 50 tokens on gpt-6-luna ($0.10 / $0.50): 6 x (10 + 25) µ$
        await page.wait_for("document.getElementById('s-counterfactual').textContent === '210 µ$'")
        view = await page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
        assert view == {"range": "7d", "end_ms": str(END_MS), "tenant": "acme", "compare": "openai/gpt-6-luna"}
        assert "tenant acme" in await page.evaluate("document.title")


@pytest.mark.parametrize(
    ("query", "says", "requests"),
    [
        (f"{WEEK}&tenant=nobody", "no request in the ledger has tenant 'nobody'", str(REQUESTS_ALL)),
        (f"{WEEK}&tenant=acme&task_kind=%01", "task_kind", str(REQUESTS_ALL)),
        (f"end_ms={END_MS}&range=banana&tenant=acme", "range 'banana'", str(REQUESTS_LAST_HOUR)),
        (f"{WEEK}&compare=nope/nope", "no price for model 'nope/nope'", str(REQUESTS_ALL)),
        (f"{WEEK}&colour=red", "unknown parameter 'colour'", str(REQUESTS_ALL)),
    ],
)
async def test_a_bad_filter_is_named_and_the_unfiltered_view_shown(
    serve: Serve, tmp_path: Path, query: str, says: str, requests: str
) -> None:
    base = await serve()
    dom = await _dom(f"{base}/?{query}", tmp_path)
    assert not _hidden(dom, "notice")
    notice = _shown(dom, "notice")
    assert says in notice and "Showing the unfiltered view" in notice, notice
    assert _shown(dom, "t-requests") == requests
    assert "Traceback" not in dom and "update failed" not in dom


async def test_an_empty_ledger_says_how_to_send_a_first_request(serve: Serve, tmp_path: Path) -> None:
    base = await serve(seed=False)
    dom = await _dom(f"{base}/", tmp_path)
    assert not _hidden(dom, "empty") and _hidden(dom, "figures")
    assert "No requests in the ledger yet" in dom and "bourse route" in dom and "/v1/chat/completions" in dom
