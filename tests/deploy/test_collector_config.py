"""The optional OpenTelemetry Collector, checked offline (no collector binary installs here).

The config is checked against the collector's documented structure
(https://opentelemetry.io/docs/collector/configuration/): top-level sections receivers / processors / exporters /
connectors / extensions / service; component ids `type[/name]`; `service.pipelines` keyed `traces|metrics|logs[/name]`,
each with at least one receiver and one exporter, naming only components defined in their sections; service
extensions defined under `extensions`; and component types the otel/opentelemetry-collector image ships. The compose
profile and the kustomize overlay must use this config and point every Bourse service at the collector.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conventions import REPO, conventions
from tests.deploy.test_manifests import rendered

DEPLOY = REPO / "deploy"
SECTIONS = {"receivers", "processors", "exporters", "connectors", "extensions", "service"}
SERVICE_KEYS = {"extensions", "pipelines", "telemetry"}
PIPELINE_KEYS = {"receivers", "processors", "exporters"}
COMPONENT_ID = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]*(/[^/\s]+)?$")
PIPELINE_ID = re.compile(r"^(traces|metrics|logs)(/[^/\s]+)?$")
# Component types of the core distribution image (distributions/otelcol/manifest.yaml) that a config here may use.
SHIPPED = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter"},
    "exporters": {"debug", "otlp", "otlphttp", "nop"},
    "extensions": {"health_check", "zpages", "pprof"},
}

Doc = dict[str, Any]


def structure_problems(config: Doc) -> list[str]:
    problems = [f"unknown top-level section {key!r}" for key in sorted(set(config) - SECTIONS)]
    for section in ("receivers", "processors", "exporters", "extensions", "connectors"):
        for component in config.get(section) or {}:
            if not COMPONENT_ID.match(component):
                problems.append(f"{section}: {component!r} is not type[/name]")
            elif section in SHIPPED and component.split("/")[0] not in SHIPPED[section]:
                problems.append(f"{section}: type {component.split('/')[0]!r} is not in the collector image")
    service = config.get("service")
    if not isinstance(service, dict):
        return [*problems, "no service section"]
    problems += [f"unknown service key {key!r}" for key in sorted(set(service) - SERVICE_KEYS)]
    problems += [
        f"service.extensions names undefined {name!r}"
        for name in service.get("extensions", [])
        if name not in (config.get("extensions") or {})
    ]
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines is empty")
    connectors = set(config.get("connectors") or {})
    for pipeline_id, pipeline in pipelines.items():
        if not PIPELINE_ID.match(pipeline_id):
            problems.append(f"pipeline {pipeline_id!r} is not traces|metrics|logs[/name]")
        problems += [f"{pipeline_id}: unknown key {key!r}" for key in sorted(set(pipeline) - PIPELINE_KEYS)]
        for role in ("receivers", "exporters"):
            if not pipeline.get(role):
                problems.append(f"{pipeline_id}: needs at least one of {role}")
        for role in PIPELINE_KEYS:
            defined = set(config.get(role) or {}) | (connectors if role != "processors" else set())
            problems += [
                f"{pipeline_id}: {role} names undefined {name!r}"
                for name in pipeline.get(role, [])
                if name not in defined
            ]
    used = {name for pipeline in pipelines.values() for role in PIPELINE_KEYS for name in pipeline.get(role, [])}
    for section in ("receivers", "processors", "exporters"):
        problems += [
            f"{section}: {name!r} is defined but in no pipeline"
            for name in config.get(section) or {}
            if name not in used
        ]
    return problems


def collector_config() -> Doc:
    data: Doc = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    return data


def test_the_collector_config_has_the_documented_structure() -> None:
    config = collector_config()
    assert structure_problems(config) == []
    traces = config["service"]["pipelines"]["traces"]
    assert "otlp" in traces["receivers"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")  # where services export


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (
            {
                "exporters": {"debug": {}},
                "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["jaeger"]}}},
            },
            "undefined 'jaeger'",
        ),
        ({"service": {"pipelines": {"traces": {"receivers": ["otlp"]}}}}, "needs at least one of exporters"),
        (
            {"service": {"pipelines": {"spans": {"receivers": ["otlp"], "exporters": ["debug"]}}}},
            "not traces|metrics|logs",
        ),
        ({"exporter": {}}, "unknown top-level section 'exporter'"),
        ({"exporters": {"zipkin": {}}}, "not in the collector image"),
        ({"service": {"extensions": ["zpages"]}}, "service.extensions names undefined 'zpages'"),
        ({"processors": {"batch": {}, "batch/extra": {}}}, "'batch/extra' is defined but in no pipeline"),
    ],
)
def test_the_structure_check_catches_each_kind_of_mistake(broken: Doc, problem: str) -> None:
    config = collector_config()
    for key, value in broken.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict) and key != "service":
            config[key] = {**config[key], **value}
        elif key == "service":
            config["service"] = {**config["service"], **value}
        else:
            config[key] = value
    assert any(problem in found for found in structure_problems(config)), structure_problems(config)


def test_the_compose_profile_runs_the_collector_and_every_service_can_export_to_it() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    collector = compose["services"]["otel-collector"]
    assert collector["profiles"] == ["tracing"]  # optional: not started without --profile tracing
    assert "./otel/collector.yaml:/etc/otelcol/collector.yaml:ro" in collector["volumes"]
    assert "--config=/etc/otelcol/collector.yaml" in collector["command"]
    for convention in conventions().values():
        env = compose["services"][convention.dashed]["environment"]
        # From the shell running compose; unset, it is empty and tracing stays off.
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}", convention.name


def test_the_kustomize_overlay_adds_the_collector_with_the_same_config() -> None:
    docs = rendered("overlays/tracing")
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    by_kind_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    config_map = by_kind_name[("ConfigMap", "otel-collector")]
    assert yaml.safe_load(config_map["data"]["collector.yaml"]) == collector_config()
    assert ("Service", "otel-collector") in by_kind_name
    assert ("NetworkPolicy", "otel-collector-from-bourse") in by_kind_name
    collector = by_kind_name[("Deployment", "otel-collector")]["spec"]["template"]["spec"]["containers"][0]
    assert collector["securityContext"]["readOnlyRootFilesystem"] is True
    for convention in conventions().values():
        deployment = by_kind_name[("Deployment", convention.dashed)]
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.bourse.svc.cluster.local:4318"
