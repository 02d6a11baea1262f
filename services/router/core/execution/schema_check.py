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
MAX_SCHEMA_DEPTH = 64  # jsonschema recurses per level; far below Python's recursion limit
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("not", "if", "then", "else")


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
    stack: list[tuple[str, Any, int]] = [("", schema, 0)]
    seen = 0
    keywords: set[str] = set()
    while stack:
        path, node, depth = stack.pop()
        seen += 1
        if seen > MAX_SCHEMA_NODES:
            problems.append(("", f"more than {MAX_SCHEMA_NODES} schema nodes"))
            break
        if depth > MAX_SCHEMA_DEPTH:
            problems.append((path, f"nested deeper than {MAX_SCHEMA_DEPTH} levels"))
            break
        if isinstance(node, list):
            stack.extend(
                (f"{path}/{i}", item, depth + 1) for i, item in enumerate(node) if isinstance(item, dict | list)
            )
            continue
        if not isinstance(node, dict):
            continue
        problems += _node_problems(path, node, patterns)
        keywords.update(key for key in ("patternProperties", "unevaluatedProperties") if key in node)
        stack.extend(
            (f"{path}/{key}", value, depth + 1) for key, value in node.items() if isinstance(value, dict | list)
        )
    if keywords == {"patternProperties", "unevaluatedProperties"}:
        problems.append(("/", "unevaluatedProperties in a schema with patternProperties is not supported"))
    if not problems and _loops_in_place(schema):
        problems.append(("/", "a $ref loop that never reaches into the answer (it would never end)"))
    if not problems:
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except SchemaError as error:
            problems.append(
                ("/".join(str(p) for p in error.absolute_path) or "/", f"not a valid schema: {error.message}")
            )
    return problems


def _node_problems(path: str, node: dict[str, Any], patterns: PatternCompiler) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    regex = node.get("pattern")
    if isinstance(regex, str):
        _try(patterns, regex, f"{path}/pattern", problems)
    by_pattern = node.get("patternProperties")
    if isinstance(by_pattern, dict):
        for key in by_pattern:
            _try(patterns, key, f"{path}/patternProperties", problems)
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        problems.append((f"{path}/$ref", "only local references (#...) are allowed"))
    return problems


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded JSON value nests lists/objects deeper than `limit` (iterative: any depth is safe)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _try(patterns: PatternCompiler, regex: str, where: str, problems: list[tuple[str, str]]) -> None:
    try:
        patterns.compile(regex)
    except UnsafePattern as error:
        problems.append((where, f"pattern refused: {error}"))


def _resolve(root: Any, ref: str) -> Any:
    """The node a local `$ref` names ("#" or "#/a/0/b"), or None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _in_place(root: Any, node: Any) -> list[Any]:
    """Subschemas applied to the same instance (not to a part of it): where a reference loop never ends."""
    if not isinstance(node, dict):
        return []
    found = [item for key in _IN_PLACE_LISTS if isinstance(node.get(key), list) for item in node[key]]
    found += [node[key] for key in _IN_PLACE_ONE if key in node]
    dependent = node.get("dependentSchemas")
    if isinstance(dependent, dict):
        found += list(dependent.values())
    for key in ("$ref", "$recursiveRef", "$dynamicRef"):
        ref = node.get(key)
        if isinstance(ref, str):
            target = _resolve(root, "#" if key != "$ref" and ref.startswith("#") else ref)
            if target is not None:
                found.append(target)
    return [item for item in found if isinstance(item, dict)]


def _loops_in_place(root: Any) -> bool:
    """Whether following only in-place subschemas and references comes back to a schema (iterative DFS)."""
    state: dict[int, int] = {}  # id(node): 1 on the current path, 2 finished
    for start in [root]:
        work: list[tuple[Any, Iterator[Any]]] = [(start, iter(_in_place(root, start)))]
        state[id(start)] = 1
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                state[id(node)] = 2
                work.pop()
            elif state.get(id(child)) == 1:
                return True
            elif id(child) not in state:
                state[id(child)] = 1
                work.append((child, iter(_in_place(root, child))))
    return False
