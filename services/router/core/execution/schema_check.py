"""JSON Schema validation of answers, with user regexes on RE2 and a time budget.

jsonschema's own `pattern`, `patternProperties` and `additionalProperties` call Python's backtracking `re`;
here they use RE2 (services/router/core/execution/user_regex.py), and `uniqueItems` (quadratic there) hashes a
canonical form instead. Every keyword checks a deadline before it runs, so validating one answer stops within
its budget plus one keyword's work, which these replacements keep linear in the answer and interrupt every
512 items: a schema built to be slow (deep `anyOf` nests over a long answer) fails the answer instead of
holding the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema
import referencing.exceptions
from jsonschema.exceptions import SchemaError, UnknownType, ValidationError

from services.router.core.execution.user_regex import PatternCompiler, UnsafePattern

Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError]]
MAX_SCHEMA_NODES = 10_000  # schemas are walked once per distinct schema, iteratively


class SchemaTimeout(Exception):
    """Validating one answer took longer than its budget."""


class SchemaUnusable(Exception):
    """The schema cannot judge answers (a reference to nowhere, an unknown type); the message says why."""


class _Deadline:
    """When the current validation must stop (validation is synchronous: one at a time per validator)."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = float("inf")

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise SchemaTimeout


class BoundedSchema:
    """One compiled schema; `errors(value, budget_s)` is jsonschema's `iter_errors`, bounded in time."""

    def __init__(self, schema: Any, patterns: PatternCompiler) -> None:
        self._deadline = _Deadline()
        base = jsonschema.validators.validator_for(schema)
        keywords = {**base.VALIDATORS, **_re2_keywords(patterns, self._deadline)}
        timed = {name: _timed(function, self._deadline) for name, function in keywords.items()}
        self._validator = jsonschema.validators.extend(base, timed)(schema)

    def best_error(self, value: Any, budget_s: float) -> ValidationError | None:
        """The most relevant error, or None; raises SchemaTimeout past the budget."""
        self._deadline.at = time.monotonic() + budget_s
        try:
            return jsonschema.exceptions.best_match(self._validator.iter_errors(value))
        except (referencing.exceptions.Unresolvable, UnknownType, SchemaError) as error:
            raise SchemaUnusable(str(error).splitlines()[0]) from error
        except RecursionError as error:  # {"$ref": "#"} refers to itself without end
            raise SchemaUnusable("the schema's references loop without end") from error
        finally:
            self._deadline.at = float("inf")


def _timed(function: Keyword, deadline: _Deadline) -> Keyword:
    def keyword(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        deadline.check()
        yield from function(validator, value, instance, schema)

    return keyword


CHECK_EVERY = 512  # items between deadline checks inside one keyword's loop


def _re2_keywords(patterns: PatternCompiler, deadline: _Deadline) -> dict[str, Keyword]:
    def pattern(validator: Any, regex: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and patterns.compile(regex).search(instance) is None:
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    def pattern_properties(
        validator: Any, by_pattern: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        for regex, subschema in by_pattern.items():
            compiled = patterns.compile(regex)
            for i, (key, item) in enumerate(instance.items()):
                if i % CHECK_EVERY == 0:
                    deadline.check()
                if compiled.search(key) is not None:
                    yield from validator.descend(item, subschema, path=key, schema_path=regex)

    def additional_properties(
        validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        known = schema.get("properties", {})
        compiled = [patterns.compile(regex) for regex in schema.get("patternProperties", {})]
        extras = [
            key for key in instance if key not in known and not any(regex.search(key) is not None for regex in compiled)
        ]
        if validator.is_type(additional, "object"):
            for key in extras:
                yield from validator.descend(instance[key], additional, path=key)
        elif not additional and extras:
            listed = ", ".join(repr(key) for key in sorted(extras, key=str)[:10])
            yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")

    def unique_items(
        validator: Any, unique: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if unique and validator.is_type(instance, "array"):
            seen: set[Any] = set()
            for i, item in enumerate(instance):
                if i % CHECK_EVERY == 0:
                    deadline.check()
                key = _canonical(item)
                if key in seen:
                    yield ValidationError(f"{item!r} is not unique in the array")
                    return
                seen.add(key)

    return {
        "pattern": pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
        "uniqueItems": unique_items,
    }


def _canonical(value: Any) -> Any:
    """A hashable form under JSON Schema equality: 1 == 1.0, but true != 1; key order does not matter."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", int(value) if isinstance(value, float) and value.is_integer() else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("d", frozenset((key, _canonical(item)) for key, item in value.items()))
    return ("o", repr(value))


def schema_problems(schema: Any, patterns: PatternCompiler) -> list[tuple[str, str]]:
    """(JSON pointer, problem) for each pattern RE2 refuses and each construct that would reach Python's `re`.

    `unevaluatedProperties` in a schema with `patternProperties` is refused: jsonschema evaluates that pair
    with `re`. A `$ref` must be local (`#...`): nothing is ever fetched. Last, the schema must be valid against
    its metaschema.
    """
    problems: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", schema)]
    seen = 0
    keywords: set[str] = set()
    while stack:
        path, node = stack.pop()
        seen += 1
        if seen > MAX_SCHEMA_NODES:
            problems.append(("", f"more than {MAX_SCHEMA_NODES} schema nodes"))
            break
        if isinstance(node, list):
            stack.extend((f"{path}/{i}", item) for i, item in enumerate(node) if isinstance(item, dict | list))
            continue
        if not isinstance(node, dict):
            continue
        regex = node.get("pattern")
        if isinstance(regex, str):
            _try(patterns, regex, f"{path}/pattern", problems)
        by_pattern = node.get("patternProperties")
        if isinstance(by_pattern, dict):
            for key in by_pattern:
                _try(patterns, key, f"{path}/patternProperties", problems)
        keywords.update(key for key in ("patternProperties", "unevaluatedProperties") if key in node)
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            problems.append((f"{path}/$ref", "only local references (#...) are allowed"))
        stack.extend((f"{path}/{key}", value) for key, value in node.items() if isinstance(value, dict | list))
    if keywords == {"patternProperties", "unevaluatedProperties"}:
        problems.append(("/", "unevaluatedProperties in a schema with patternProperties is not supported"))
    if not problems:
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except SchemaError as error:
            problems.append(
                ("/".join(str(p) for p in error.absolute_path) or "/", f"not a valid schema: {error.message}")
            )
    return problems


def _try(patterns: PatternCompiler, regex: str, where: str, problems: list[tuple[str, str]]) -> None:
    try:
        patterns.compile(regex)
    except UnsafePattern as error:
        problems.append((where, f"pattern refused: {error}"))
