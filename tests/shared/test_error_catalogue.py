"""Every reason of the error catalogue goes through both mappings: raised in a real gRPC server it reaches a
real client with its declared status and retryability and decodes back unchanged; as HTTP it gets its declared
status and an OpenAI-shaped body. docs/errors.md is generated from the catalogue and must not be stale."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2

from shared.error_catalogue import PLAIN_STATUS_REASON, UPSTREAM_REASONS, Group, Kind, Reason
from shared.errors import BourseError, FieldViolation, InvalidRequest, UpstreamError
from shared.grpc_errors import from_rpc_error
from shared.http_errors import STATUS_TYPE, error_body, http_status
from shared.logging import get_logger
from shared.serving import ServiceServer, insecure_channel, new_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_error_docs.py"


async def _raise(request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
    reason = Reason(dict(context.invocation_metadata())["reason"])
    raise BourseError(f"raised {reason}", reason=reason, retry_after_s=2.0 if reason.retryable else None)


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[ServiceServer]:
    service = new_server(listen="127.0.0.1:0", service_names=["test.Catalogue"], logger=get_logger("test"))
    handler = grpc.method_handlers_generic_handler(
        "test.Catalogue",
        {
            "Raise": grpc.unary_unary_rpc_method_handler(
                _raise, empty_pb2.Empty.FromString, empty_pb2.Empty.SerializeToString
            )
        },
    )
    service.server.add_generic_rpc_handlers((handler,))
    await service.start()
    yield service
    await service.stop(0)


async def test_every_reason_crosses_grpc_with_its_declared_status(server: ServiceServer) -> None:
    async with insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = channel.unary_unary(
            "/test.Catalogue/Raise",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=empty_pb2.Empty.FromString,
        )
        for reason in Reason:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(empty_pb2.Empty(), metadata=(("reason", reason.value),), timeout=10)
            assert caught.value.code() == grpc.StatusCode[reason.grpc_status], reason
            received = from_rpc_error(caught.value)
            assert (received.reason, received.kind, received.retryable) == (reason, reason.kind, reason.retryable)
            assert received.retry_after_s == (2.0 if reason.retryable else None)


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_maps_to_its_declared_http_status_and_an_openai_body(reason: Reason) -> None:
    error = BourseError("x", reason=reason)
    status = http_status(error)
    assert status == reason.http_status
    assert status in STATUS_TYPE, f"{reason}: HTTP {status} has no OpenAI error type"
    body = error_body(error, status)["error"]
    assert body["code"] == reason.value.lower()
    assert body["type"] == STATUS_TYPE[status]


def test_the_http_body_names_the_first_bad_field_as_param() -> None:
    error = InvalidRequest("bad range", violations=[FieldViolation("range", "bad"), FieldViolation("end_ms", "bad")])
    assert error_body(error, http_status(error)) == {
        "error": {"message": "bad range", "type": "invalid_request_error", "param": "range", "code": "invalid_request"}
    }
    assert error_body(InvalidRequest("no field"), 400)["error"]["param"] is None


def test_the_catalogue_is_consistent() -> None:
    values = [reason.value for reason in Reason]
    # The wire value is the member's name, so a reason received as text and its member hash and compare alike.
    assert values == [reason.name for reason in Reason]
    assert "RATE_LIMITED" in frozenset({Reason.RATE_LIMITED})
    assert len(set(values)) == len(values)
    assert set(PLAIN_STATUS_REASON) == set(Kind)  # every status without details has a reason
    assert all(reason.description.endswith((".", ")")) for reason in Reason)
    assert all(reason.group is Group.UPSTREAM or reason is Reason.INVALID_REQUEST for reason in UPSTREAM_REASONS)
    # A client error is never retried elsewhere by status alone: 4xx kinds other than limits are the caller's.
    assert not Reason.INVALID_REQUEST.retryable
    assert Reason.BUDGET_EXCEEDED.http_status == 429


def test_a_plain_status_from_outside_bourse_gets_its_kinds_reason() -> None:
    error = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone")
    received = from_rpc_error(error)
    assert (received.reason, received.retryable) == (Reason.UPSTREAM_UNAVAILABLE, True)
    assert http_status(received) == 503


def test_an_upstream_error_takes_kind_and_retryability_from_its_reason() -> None:
    error = UpstreamError("provider said no", reason=Reason.AUTHENTICATION)
    assert (error.kind, error.retryable, http_status(error)) == (Kind.UNAUTHENTICATED, True, 502)


def _check(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--out", str(out)], capture_output=True, text=True, check=False
    )


def test_docs_errors_md_matches_the_catalogue() -> None:
    result = _check(ROOT / "docs" / "errors.md")
    assert result.returncode == 0, result.stderr


def test_the_doc_check_fails_on_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "errors.md"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(page)], check=True)
    assert _check(page).returncode == 0
    page.write_text(page.read_text().replace("`QUEUE_FULL`", "`QUEUE_OVERFLOW`"))
    stale = _check(page)
    assert stale.returncode == 1 and "stale" in stale.stderr
