"""The chart library ships inside the package: the vendored file is the locked npm version, byte for byte, with its
licences, and a wheel built from the tree serves it without npm.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from services.ledger.dashboard_http import CHART_JS, DASHBOARD_DIR, VENDOR_DIR

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "vendor_chart_library.py"
VENDORED = ("chart.umd.js", "chart.js-LICENSE.md", "kurkle-color-LICENSE.md", "VENDORED.json")


@pytest.fixture(scope="module")
def npm_install() -> Path:
    """The dashboard's npm packages, installed from the committed lock file when missing."""
    if not (DASHBOARD_DIR / "node_modules" / "chart.js").exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is required to check the vendored chart library (apt-get install -y npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=DASHBOARD_DIR, check=True, timeout=300)
    return DASHBOARD_DIR / "node_modules"


def _vendor(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)


def test_vendored_file_is_the_locked_version_with_its_licences() -> None:
    lock = json.loads((DASHBOARD_DIR / "package-lock.json").read_text())["packages"]
    manifest = json.loads((VENDOR_DIR / "VENDORED.json").read_text())
    assert manifest["chart.js"]["version"] == lock["node_modules/chart.js"]["version"]
    assert manifest["chart.js"]["integrity"] == lock["node_modules/chart.js"]["integrity"]
    assert CHART_JS.read_text()[:100].startswith(f"/*!\n * Chart.js v{manifest['chart.js']['version']}\n")
    for package in manifest.values():
        for name, digest in package["files"].items():
            assert "sha256-" + hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (VENDOR_DIR / "chart.js-LICENSE.md").read_text()
    assert "MIT License" in (VENDOR_DIR / "kurkle-color-LICENSE.md").read_text()


def test_vendored_files_match_what_npm_installs_from_the_lock(npm_install: Path) -> None:
    result = _vendor("--check")
    assert result.returncode == 0, result.stderr
    assert (npm_install / "chart.js" / "dist" / "chart.umd.js").read_bytes() == CHART_JS.read_bytes()


def test_check_fails_on_a_changed_or_missing_vendored_file(npm_install: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dashboard"
    copy.mkdir()
    shutil.copy(DASHBOARD_DIR / "package-lock.json", copy)
    (copy / "node_modules").symlink_to(npm_install)
    shutil.copytree(VENDOR_DIR, copy / "vendor")
    assert _vendor("--check", "--dashboard-dir", str(copy)).returncode == 0
    (copy / "vendor" / "chart.umd.js").write_text("/* edited by hand */")
    result = _vendor("--check", "--dashboard-dir", str(copy))
    assert result.returncode == 1 and "chart.umd.js" in result.stderr
    assert _vendor("--dashboard-dir", str(copy)).returncode == 0  # re-vendoring repairs it
    assert _vendor("--check", "--dashboard-dir", str(copy)).returncode == 0
    (copy / "vendor" / "kurkle-color-LICENSE.md").unlink()
    assert _vendor("--check", "--dashboard-dir", str(copy)).returncode == 1


def test_vendoring_refuses_an_install_that_is_not_the_locked_version(npm_install: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dashboard"
    shutil.copytree(npm_install, copy / "node_modules", symlinks=True)
    package_json = copy / "node_modules" / "chart.js" / "package.json"
    package = json.loads(package_json.read_text())
    package_json.write_text(json.dumps({**package, "version": "0.0.1"}))
    shutil.copy(DASHBOARD_DIR / "package-lock.json", copy)
    result = _vendor("--dashboard-dir", str(copy))
    assert result.returncode != 0 and "0.0.1 is installed" in result.stderr
    result = _vendor("--dashboard-dir", str(tmp_path / "nowhere-installed"))
    assert result.returncode != 0


@pytest.mark.slow
def test_a_built_wheel_serves_the_chart_library_without_npm(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required to build the wheel (make setup installs it)")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300
    )
    (wheel,) = tmp_path.glob("bourse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {f"services/ledger/dashboard/vendor/{name}" for name in VENDORED} <= names
        assert not any("node_modules" in name for name in names)
        archive.extractall(tmp_path / "installed")
    # The unpacked wheel, first on the path, finds its own copy of the library (no checkout, no node_modules).
    probe = (
        "from services.ledger import dashboard_http as d; "
        "print(d.__file__); print(d.CHART_JS.is_file()); print(d.CHART_JS.read_bytes()[:20])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path / "installed")},
        cwd=tmp_path,
        check=True,
    )
    where, exists, head = result.stdout.splitlines()
    assert where.startswith(str(tmp_path / "installed")) and exists == "True", result.stdout
    assert "Chart.js" in head
