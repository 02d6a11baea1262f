"""`bourse up --demo --exit` on the real services: every service healthy, the sample workload answered, all stopped.

Needs the converted local models (`make models`), like the local-inference service itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.stack import SERVICES, provider_key_envs
from services.cli.up import DEMO_WORKLOAD

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_bourse_up_demo_runs_the_workload_through_the_real_stack(tmp_path: Path) -> None:
    key_names = {name for names in provider_key_envs() for name in names}
    env = {k: v for k, v in os.environ.items() if k not in key_names}  # never a real provider in tests
    argv = [sys.executable, "-m", "services.cli", "up", "--demo", "--exit", "--ephemeral-ports"]
    argv += ["--data-dir", str(tmp_path / "nats"), "--log-dir", str(tmp_path / "log"), "--log-level", "warning"]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=240, check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out = result.stdout
    for spec in SERVICES:
        assert f"starting {spec.name}" in out
        assert f"stopped {spec.name} (exit 0)" in out  # every service shut down cleanly on SIGTERM
    assert "ready:" in out and "stopped nats (exit 0)" in out
    assert re.search(r"^prices as of \d{4}-\d\d-\d\d.*, \d+ days old$", out, re.MULTILINE), out
    answered = re.findall(r"^  (\w+)\s+(\S+)/(\S+) \((local|cache|remote)\), cost (\d+) micro-USD$", out, re.MULTILINE)
    assert [kind for kind, *_ in answered] == [
        "classification", "extraction", "formatting", "formatting", "summarization", "code", "chat",
    ]  # fmt: skip
    assert len(answered) == len(DEMO_WORKLOAD)
    assert out.count("attempts: ") == len(DEMO_WORKLOAD)
    served = [(where, int(cost)) for _, _, _, where, cost in answered]
    # The trivial kinds: a label by Score, an exact match (no model run) and a guided JSON answer, all local and
    # free; one guided answer below its kind's confidence threshold escalates to a paid remote model.
    assert served[:3] == [("local", 0)] * 3
    assert "[exact_match, confidence 1.00]" in out and "[guided, confidence" in out
    assert served[3][0] == "remote" and served[3][1] > 0 and "(LOW_CONFIDENCE)" in out
    # The open-ended kinds go to a paid remote model (the simulator stands in for the provider).
    assert all(where == "remote" and cost > 0 for where, cost in served[4:])
