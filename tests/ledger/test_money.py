"""The money rule: a unit that fits every amount, never "$0.0000" for a non-zero one; Python and the page agree."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ledger.core.money import format_exact_micro_usd, format_micro_usd
from services.ledger.dashboard_http import STATIC_DIR


@pytest.mark.parametrize(
    ("micro", "shown"),
    [
        (0, "$0"),
        (1, "1 µ$"),
        (7, "7 µ$"),
        (999, "999 µ$"),
        (1_000, "1 m$"),
        (1_125, "1.13 m$"),  # half up, not half even
        (1_234, "1.23 m$"),
        (45_600, "45.6 m$"),
        (120_000, "120 m$"),
        (999_499, "999 m$"),
        (999_500, "$1.00"),  # rounds to 1,000 m$: shown in dollars instead
        (1_000_000, "$1.00"),
        (1_005_000, "$1.01"),
        (1_234_500_000, "$1,234.50"),
        (-1, "-1 µ$"),
        (-1_500, "-1.5 m$"),
        (-2_500_000, "-$2.50"),
        (0.5, "0.5 µ$"),  # a mean cost per request can be a fraction of a micro-dollar
        (0.000123, "0.000123 µ$"),
    ],
)
def test_format_micro_usd(micro: float, shown: str) -> None:
    assert format_micro_usd(micro) == shown


def test_exact_amount_for_tooltips() -> None:
    assert format_exact_micro_usd(0) == "0 µ$"
    assert format_exact_micro_usd(1_234_567) == "1,234,567 µ$"
    assert format_exact_micro_usd(-7) == "-7 µ$"


@given(st.integers(min_value=1, max_value=10**13))
def test_a_non_zero_amount_never_reads_as_zero(micro: int) -> None:
    shown = format_micro_usd(micro)
    digits = [c for c in shown if c.isdigit()]
    assert any(d != "0" for d in digits), shown


def test_page_and_python_agree() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required to run the page's money.js (apt-get install -y nodejs)")
    amounts = [0, 1, 7, 999, 1_000, 1_125, 1_234, 1_235, 45_600, 99_950, 999_499, 999_500, 999_994, 1_000_000]
    amounts += [1_005_000, 1_234_500_000, 98_765_432_109, -1, -1_500, -2_500_000, 0.5, 0.000123, 333.3333, 2.675]
    amounts += [int(1.7**k) for k in range(60)]
    script = (
        f"const m = require({json.dumps(str(STATIC_DIR / 'money.js'))});"
        f"const xs = {json.dumps(amounts)};"
        "const exact = (x) => (Number.isInteger(x) ? m.formatExactMicroUsd(x) : null);"
        "process.stdout.write(JSON.stringify(xs.map((x) => [m.formatMicroUsd(x), exact(x)])));"
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    from_js = json.loads(result.stdout)
    expected = [[format_micro_usd(x), format_exact_micro_usd(x) if isinstance(x, int) else None] for x in amounts]
    assert from_js == expected
