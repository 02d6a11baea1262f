"""The layering contracts catch what they promise: the custom public-module contract and a core importing a
transport library fail on a small project that breaks them, and pass once it imports the public module only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

CONFIG = """
[importlinter]
root_packages =
    svc
include_external_packages = True
contract_types =
    public_module: scripts.public_module_contract.PublicModuleContract

[importlinter:contract:core]
name = Cores import no transport
type = forbidden
source_modules =
    svc.*.core
forbidden_modules =
    grpc

[importlinter:contract:public]
name = Only the public module
type = public_module
packages =
    svc.*
public_module = api
exclude =
    svc.cli
"""


def _project(tmp_path: Path, cli_import: str, core_import: str) -> Path:
    files = {
        "svc/__init__.py": "",
        "svc/billing/__init__.py": "",
        "svc/billing/api.py": "from svc.billing.core.rates import rate\n",
        "svc/billing/core/__init__.py": "",
        "svc/billing/core/rates.py": f"{core_import}\n\ndef rate() -> int:\n    return 1\n",
        "svc/cli/__init__.py": "",
        "svc/cli/bill.py": f"{cli_import}\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / ".importlinter").write_text(CONFIG)
    return tmp_path


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def test_importing_a_service_internal_from_outside_breaks_the_contract(tmp_path: Path) -> None:
    project = _project(tmp_path, "from svc.billing.core.rates import rate", "")
    result = _lint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "svc.cli.bill -> svc.billing.core.rates" in result.stdout
    assert "import svc.billing.api instead" in result.stdout


def test_a_core_importing_grpc_breaks_the_contract(tmp_path: Path) -> None:
    project = _project(tmp_path, "from svc.billing.api import rate", "import grpc")
    result = _lint(project)
    assert result.returncode == 1
    assert "svc.billing.core.rates -> grpc" in result.stdout


def test_the_public_module_only_keeps_both(tmp_path: Path) -> None:
    project = _project(tmp_path, "from svc.billing.api import rate", "import json")
    result = _lint(project)
    assert result.returncode == 0, result.stdout + result.stderr
