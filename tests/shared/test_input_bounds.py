"""The one set of input bounds (shared/input_bounds.py): each check at its limit and one past it."""

from __future__ import annotations

import pytest

from shared.errors import FieldViolation
from shared.input_bounds import (
    BOUNDS,
    cap_violations,
    check_json_depth,
    check_metadata,
    check_request_id,
    check_tenant_id,
    check_utf8,
    clip_message,
    json_depth,
)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("a" * 128, True), ("a" * 129, False), ("req-1.a_b:c", True), ("a\r\nb", False), ("a b", False)],
)
def test_request_ids(value: str, ok: bool) -> None:
    assert (check_request_id(value, "x-request-id") == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("acme", True),
        ("t" * 64, True),
        ("t" * 65, False),
        (".acme", False),
        ("ac me", False),
        ("a.>", False),
        ("", False),
    ],
)
def test_tenant_ids(value: str, ok: bool) -> None:
    assert (check_tenant_id(value) == []) is ok


def test_metadata_count_sizes_total_and_surrogates() -> None:
    assert check_metadata({f"k{i}": "v" for i in range(BOUNDS.metadata_max_entries)}) == []
    assert check_metadata({f"k{i}": "v" for i in range(BOUNDS.metadata_max_entries + 1)})[0].field == "metadata"
    assert [v.field for v in check_metadata({"k" * 65: "v"})] == ["metadata[" + "k" * 32 + "]"]
    assert check_metadata({"k": "v" * 257}) != []
    over_total = {f"k{i:02d}": "v" * 250 for i in range(33)}  # each entry fine, 8.3 KB in all
    assert [v.field for v in check_metadata(over_total)] == ["metadata"]
    assert check_metadata({"k": "\ud800"})[0].description.startswith("not valid Unicode")


def test_json_depth_counts_without_parsing_and_ignores_brackets_in_strings() -> None:
    assert json_depth("1", 10) == 0
    assert json_depth('{"a": [1, {"b": "[[[[{"}]}', 10) == 3
    assert json_depth(b'{"a": "\\"[[[["}', 10) == 1
    assert json_depth("[" * 100_000, 64) == 65  # stops counting just past the limit
    assert check_json_depth("[" * 33 + "]" * 33, "schema", 32)[0].field == "schema"
    assert check_json_depth("[" * 32 + "]" * 32, "schema", 32) == []


def test_utf8_and_messages() -> None:
    assert check_utf8(b"caf\xc3\xa9") == []
    assert check_utf8(b"caf\xc3")[0].description == "not valid UTF-8 (byte 3)"
    assert len(clip_message("x" * 5000)) == BOUNDS.error_message_max_chars
    assert clip_message("short") == "short"


def test_violations_are_capped_once_with_a_count() -> None:
    many = [FieldViolation(f"f{i}", "bad") for i in range(2000)]
    capped = cap_violations(many)
    assert len(capped) == BOUNDS.max_violations + 1
    assert capped[-1] == FieldViolation("...", "1980 more violations not listed")
    assert cap_violations(capped) == capped  # capping again (the gRPC mapping does) changes nothing
    assert cap_violations(many[:20]) == many[:20]
