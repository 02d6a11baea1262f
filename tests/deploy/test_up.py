"""`bourse up`: start order, readiness, wiring, failure reporting, clean stops, with real nats-server and children.

The children are stand-ins (tests/deploy/fake_service.py) with real gRPC health and real HTTP, so these tests stay
fast and deterministic; tests/deploy/test_up_stack.py runs the real services.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.__main__ import build_parser
from services.cli.stack import SERVICES, StackOptions, plan_stack, provider_key_envs
from services.cli.up import DEMO_WORKLOAD, Console, up
from tests.deploy.fake_up import fake_specs
from tests.support.eventually import eventually_sync

REPO = Path(__file__).resolve().parents[2]


def read_record(path: Path) -> list[tuple[str, str, dict[str, str]]]:
    rows = []
    for line in path.read_text().splitlines():
        verb, name, *rest = line.split(" ", 2)
        rows.append((verb, name, json.loads(rest[0]) if rest else {}))
    return rows


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is not running
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def run_up(tmp_path: Path, stack: str, *extra: str, trigger: Path | None = None) -> tuple[int, str, str]:
    record = tmp_path / "record.txt"
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(
        ["up", "--ephemeral-ports", "--data-dir", str(tmp_path / "nats"), "--log-dir", str(tmp_path / "log"), *extra]
    )
    code = up(args, services=fake_specs(record, stack, trigger), console=Console(out, err), environ={})
    return code, out.getvalue(), err.getvalue()


def test_defaults_follow_the_conventions() -> None:
    plan = plan_stack(StackOptions(), environ={})
    assert plan.addresses["nats"] == "nats://127.0.0.1:4222"
    assert plan.addresses["router"] == "127.0.0.1:50051"
    assert plan.addresses["provider_adapter"] == "127.0.0.1:50052"
    assert plan.addresses["gateway"] == "http://127.0.0.1:8080"
    assert plan.addresses["simulator"] == "http://127.0.0.1:8099"
    assert [launch.name for launch in plan.launches] == [s.name for s in SERVICES]
    router = next(launch for launch in plan.launches if launch.name == "router")
    assert router.argv[1:] == ["-m", "services.router"]
    assert router.env["BOURSE_ROUTER_LISTEN"] == "127.0.0.1:50051"
    assert router.env["BOURSE_ROUTER_NATS_URL"] == "nats://127.0.0.1:4222"
    assert router.env["BOURSE_ROUTER_ADAPTER_TARGET"] == "127.0.0.1:50052"
    adapter = next(launch for launch in plan.launches if launch.name == "provider_adapter")
    assert adapter.env["BOURSE_ADAPTER_SIMULATOR_URL"] == "http://127.0.0.1:8099"


def test_overrides_and_keys() -> None:
    every_key = {names[0]: "k" for names in provider_key_envs()}
    plan = plan_stack(StackOptions(listen={"nats": "127.0.0.1:14222", "router": "0.0.0.0:6000"}), environ=every_key)
    assert plan.addresses["nats"] == "nats://127.0.0.1:14222"
    assert plan.addresses["router"] == "0.0.0.0:6000"
    assert "simulator" not in plan.addresses  # every provider has a key: no simulator
    adapter = next(launch for launch in plan.launches if launch.name == "provider_adapter")
    assert "BOURSE_ADAPTER_SIMULATOR_URL" not in adapter.env
    one_key = {provider_key_envs()[0][0]: "k"}
    assert "simulator" in plan_stack(StackOptions(), environ=one_key).addresses
    assert "simulator" in plan_stack(StackOptions(simulator="always"), environ=every_key).addresses
    assert "simulator" not in plan_stack(StackOptions(simulator="never"), environ={}).addresses


@pytest.mark.parametrize(
    "argv",
    [["--listen", "routr=127.0.0.1:1"], ["--listen", "router"], ["--skip", "gatway"], ["--router", "nohostport"]],
)
def test_bad_options_are_rejected_before_anything_starts(argv: list[str]) -> None:
    err = io.StringIO()
    code = up(build_parser().parse_args(["up", *argv]), console=Console(io.StringIO(), err), environ={})
    assert code == 2
    assert "bourse up:" in err.getvalue()


@pytest.mark.slow
def test_demo_failures_are_reported_and_exit_nonzero(tmp_path: Path) -> None:
    # The stand-in "router" serves health but not RouterService: every demo Route fails with UNIMPLEMENTED.
    specs_stack = "BOURSE_FAKEA:grpc"
    record = tmp_path / "record.txt"
    out, err = io.StringIO(), io.StringIO()
    specs = fake_specs(record, specs_stack)
    specs[0] = type(specs[0])(**{**specs[0].__dict__, "name": "router"})
    args = build_parser().parse_args(
        [
            "up",
            "--ephemeral-ports",
            "--data-dir",
            str(tmp_path / "n"),
            "--log-dir",
            str(tmp_path / "l"),
            "--demo",
            "--exit",
        ]
    )
    code = up(args, services=specs, console=Console(out, err), environ={})
    assert code == 1
    assert err.getvalue().count("UNIMPLEMENTED") == len(DEMO_WORKLOAD)  # every demo request reported
    assert "stopped router" in out.getvalue() and "stopped nats" in out.getvalue()


@pytest.mark.slow
def test_starts_in_order_wires_peers_and_stops_in_reverse(tmp_path: Path) -> None:
    code, out, err = run_up(
        tmp_path, "BOURSE_FAKEA:http,BOURSE_FAKEB:grpc,BOURSE_FAKEC:grpc", "--exit", "--skip", "bourse_fakec"
    )
    assert code == 0, err
    rows = read_record(tmp_path / "record.txt")
    assert [(verb, name) for verb, name, _ in rows] == [
        ("start", "bourse_fakea"),
        ("start", "bourse_fakeb"),
        ("stop", "bourse_fakeb"),
        ("stop", "bourse_fakea"),
    ]  # fakec was skipped
    wiring = rows[1][2]
    assert wiring["BOURSE_FAKEB_UPSTREAM_TARGET"].startswith("http://127.0.0.1:")
    assert wiring["BOURSE_FAKEB_NATS_URL"].startswith("nats://127.0.0.1:")
    assert out.index("stopped bourse_fakeb") < out.index("stopped bourse_fakea") < out.index("stopped nats")
    assert "ready:" in out


@pytest.mark.slow
def test_a_service_that_crashes_at_start_is_reported_and_nothing_is_left(tmp_path: Path) -> None:
    code, out, err = run_up(tmp_path, "BOURSE_FAKEA:grpc,BOURSE_FAKEB:crash,BOURSE_FAKEC:grpc")
    assert code == 1
    assert "bourse_fakeb exited during start-up" in err
    assert "fatal: invalid configuration field $.listen" in err  # the tail of its log
    rows = read_record(tmp_path / "record.txt")
    assert [(verb, name) for verb, name, _ in rows] == [
        ("start", "bourse_fakea"),
        ("start", "bourse_fakeb"),
        ("stop", "bourse_fakea"),
    ]  # fakec never started; fakea was stopped
    assert "stopped nats" in out
    assert "ready:" not in out


@pytest.mark.slow
def test_a_service_that_never_gets_healthy_times_out_and_is_stopped(tmp_path: Path) -> None:
    code, out, err = run_up(tmp_path, "BOURSE_FAKEA:grpc,BOURSE_FAKEB:unhealthy", "--start-timeout", "6")
    assert code == 1
    assert "bourse_fakeb was not healthy within 6s" in err
    names = [(verb, name) for verb, name, _ in read_record(tmp_path / "record.txt")]
    assert ("stop", "bourse_fakea") in names and ("stop", "bourse_fakeb") in names
    assert "stopped nats" in out


def test_nats_port_in_use_is_reported(tmp_path: Path, nats_url: str) -> None:
    taken = nats_url.removeprefix("nats://")
    record = tmp_path / "r2.txt"
    err_io = io.StringIO()
    args = build_parser().parse_args(
        ["up", "--nats", taken, "--data-dir", str(tmp_path / "n2"), "--log-dir", str(tmp_path / "l2")]
    )
    code = up(
        args, services=fake_specs(record, "BOURSE_FAKEA:grpc"), console=Console(io.StringIO(), err_io), environ={}
    )
    assert code == 1
    assert "nats" in err_io.getvalue() and "address already in use" in err_io.getvalue()
    assert not record.exists()  # nothing after NATS was started


@pytest.mark.slow
def test_a_service_crashing_while_serving_stops_the_stack(tmp_path: Path) -> None:
    trigger = tmp_path / "trigger"
    proc = start_fake_up(tmp_path, "BOURSE_FAKEA:grpc,BOURSE_FAKEB:crash_on_file", trigger=trigger)
    wait_for_line(proc, tmp_path / "out.txt", "serving; Ctrl-C")
    pids = child_pids(proc.pid)
    trigger.touch()
    assert proc.wait(30) == 1
    err = (tmp_path / "err.txt").read_text()
    assert "bourse_fakeb exited unexpectedly (code 4)" in err and "trigger file seen" in err
    assert "stopped nats" in (tmp_path / "out.txt").read_text()
    assert not any(pid_alive(pid) for pid in pids)


@pytest.mark.slow
def test_sigterm_stops_everything_in_reverse_order(tmp_path: Path) -> None:
    proc = start_fake_up(tmp_path, "BOURSE_FAKEA:grpc,BOURSE_FAKEB:grpc,BOURSE_FAKEC:http")
    wait_for_line(proc, tmp_path / "out.txt", "serving; Ctrl-C")
    pids = child_pids(proc.pid)
    assert len(pids) == 4  # nats-server and three services
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    out = (tmp_path / "out.txt").read_text()
    order = [out.index(f"stopped {name}") for name in ("bourse_fakec", "bourse_fakeb", "bourse_fakea", "nats")]
    assert order == sorted(order)
    rows = [(verb, name) for verb, name, _ in read_record(tmp_path / "record.txt")]
    assert rows[-3:] == [("stop", "bourse_fakec"), ("stop", "bourse_fakeb"), ("stop", "bourse_fakea")]
    assert not any(pid_alive(pid) for pid in pids)


@pytest.mark.slow
def test_sigint_during_start_up_leaves_nothing(tmp_path: Path) -> None:
    proc = start_fake_up(tmp_path, "BOURSE_FAKEA:grpc,BOURSE_FAKEB:unhealthy", "--start-timeout", "60")
    wait_for_line(proc, tmp_path / "out.txt", "starting bourse_fakeb")
    eventually_sync(lambda: len(child_pids(proc.pid)) == 3, timeout_s=90, what="three children")
    pids = child_pids(proc.pid)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130
    assert "interrupted during start-up" in (tmp_path / "out.txt").read_text()
    assert not any(pid_alive(pid) for pid in pids)


# --- subprocess plumbing -------------------------------------------------------------------------------------


def start_fake_up(tmp_path: Path, stack: str, *extra: str, trigger: Path | None = None) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.deploy.fake_up", str(tmp_path / "record.txt"), stack, "--ephemeral-ports"]
    argv += ["--data-dir", str(tmp_path / "nats"), "--log-dir", str(tmp_path / "log"), *extra]
    key_names = {name for names in provider_key_envs() for name in names}
    env = {k: v for k, v in os.environ.items() if k not in key_names}
    if trigger is not None:
        env["FAKE_TRIGGER"] = str(trigger)  # inherited by every child
    with (tmp_path / "out.txt").open("wb") as out, (tmp_path / "err.txt").open("wb") as err:
        return subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=env)


def wait_for_line(proc: subprocess.Popen[bytes], path: Path, text: str) -> None:
    def seen() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {path.read_text()}")
        return text in path.read_text()

    eventually_sync(seen, timeout_s=90, what=repr(text))  # fails at once if the process exits


def child_pids(parent: int) -> list[int]:
    # children started from any thread of the parent (nats-server is started from a worker thread)
    return [
        int(pid) for task in Path(f"/proc/{parent}/task").glob("*") for pid in (task / "children").read_text().split()
    ]
