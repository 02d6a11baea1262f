"""The subset of kustomize that deploy/k8s uses, to render overlays offline in tests (no kustomize binary here).

Supported: `resources` (files and directories with a kustomization.yaml), `namespace`, `labels` (metadata only),
`images` (newName/newTag), and `patches` as JSON 6902 operations (add, replace, remove) with a kind/name target.
Anything else in a kustomization.yaml is an error, so the renderer cannot silently ignore a field it does not know.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}

Doc = dict[str, Any]


def render(directory: Path) -> list[Doc]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise ValueError(f"{directory}: kustomization fields not supported by the test renderer: {sorted(unknown)}")
    docs: list[Doc] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs.extend(render(path))
        else:
            docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        targets = [doc for doc in docs if _matches(doc, patch["target"])]
        if not targets:
            raise ValueError(f"{directory}: patch target {patch['target']} matches no resource")
        for doc in targets:
            for operation in yaml.safe_load(patch["patch"]):
                _apply(doc, operation)
    for image in kustomization.get("images", []):
        if not _set_image(docs, image):
            raise ValueError(f"{directory}: image {image['name']} is used by no container")
    for labels in kustomization.get("labels", []):
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(labels["pairs"])
    namespace = kustomization.get("namespace")
    if namespace:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = namespace
    return docs


def _matches(doc: Doc, target: dict[str, str]) -> bool:
    return doc["kind"] == target.get("kind", doc["kind"]) and doc["metadata"]["name"] == target.get(
        "name", doc["metadata"]["name"]
    )


def _apply(doc: Doc, operation: dict[str, Any]) -> None:
    *parents, last = [_unescape(part) for part in operation["path"].lstrip("/").split("/")]
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    op = operation["op"]
    if isinstance(node, list):
        if op == "add":
            node.insert(len(node) if last == "-" else int(last), copy.deepcopy(operation["value"]))
        elif op == "replace":
            node[int(last)] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del node[int(last)]
        else:
            raise ValueError(f"unsupported op {op}")
        return
    if op in ("add", "replace"):
        if op == "replace" and last not in node:
            raise ValueError(f"replace of a missing path {operation['path']}")
        node[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del node[last]
    else:
        raise ValueError(f"unsupported op {op}")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _set_image(docs: list[Doc], image: dict[str, str]) -> bool:
    found = False
    for doc in docs:
        template = doc.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("containers", []):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
                found = True
    return found
