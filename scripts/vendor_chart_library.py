"""Vendor the dashboard's chart library from npm into the Python package, or check that it is up to date.

    python scripts/vendor_chart_library.py          # after `npm ci --prefix services/ledger/dashboard`
    python scripts/vendor_chart_library.py --check  # fails when dashboard/vendor/ differs from the locked package

npm, from the committed package-lock.json, is how the file is produced and checked; the result
(services/ledger/dashboard/vendor/: chart.umd.js, the licences of Chart.js and of @kurkle/color which its bundle
includes, VENDORED.json with versions and digests) is committed, so a checkout or an installed wheel serves the
charts without npm at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "services" / "ledger" / "dashboard"
# npm package -> (file in the package, name in vendor/); the UMD bundle inlines @kurkle/color, so its licence ships too.
FILES = {
    "chart.js": [("dist/chart.umd.js", "chart.umd.js"), ("LICENSE.md", "chart.js-LICENSE.md")],
    "@kurkle/color": [("LICENSE.md", "kurkle-color-LICENSE.md")],
}
MANIFEST = "VENDORED.json"


def expected(dashboard: Path) -> dict[str, bytes]:
    """The files vendor/ must hold, read from node_modules after checking it is the locked version."""
    lock = json.loads((dashboard / "package-lock.json").read_text())["packages"]
    files: dict[str, bytes] = {}
    manifest: dict[str, dict[str, object]] = {}
    for package, copies in FILES.items():
        locked = lock[f"node_modules/{package}"]
        installed_json = dashboard / "node_modules" / package / "package.json"
        if not installed_json.exists():
            raise SystemExit(f"{package} is not installed: run npm ci --prefix {dashboard}")
        installed = json.loads(installed_json.read_text())["version"]
        if installed != locked["version"]:
            raise SystemExit(f"{package} {installed} is installed, the lock says {locked['version']}: run npm ci")
        entry: dict[str, object] = {"version": locked["version"], "integrity": locked["integrity"], "files": {}}
        for source, target in copies:
            data = (dashboard / "node_modules" / package / source).read_bytes()
            files[target] = data
            entry["files"][target] = "sha256-" + hashlib.sha256(data).hexdigest()  # type: ignore[index]
        manifest[package] = entry
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if vendor/ differs from the locked npm package")
    parser.add_argument("--dashboard-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    vendor = args.dashboard_dir / "vendor"
    wanted = expected(args.dashboard_dir)
    if args.check:
        stale = [
            name
            for name, data in wanted.items()
            if not (vendor / name).is_file() or (vendor / name).read_bytes() != data
        ]
        extra = sorted(p.name for p in vendor.iterdir() if p.name not in wanted) if vendor.is_dir() else []
        if stale or extra:
            print(
                f"{vendor} is stale (differs: {stale}, unexpected: {extra}): run {Path(__file__).name}", file=sys.stderr
            )
            return 1
        print(f"{vendor} matches the locked npm packages")
        return 0
    vendor.mkdir(exist_ok=True)
    for name, data in wanted.items():
        (vendor / name).write_bytes(data)
    print(f"vendored {', '.join(sorted(wanted))} into {vendor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
