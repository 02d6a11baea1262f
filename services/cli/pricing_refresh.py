"""`bourse pricing refresh`: rewrite the manifest's prices, limits and retirement dates from a LiteLLM price map.

The map is a given file, or the copy inside the litellm wheel pinned in requirements/peers.txt: the wheel is
downloaded with pip (--no-deps, hash-checked) into a cache directory and opened as a zip; litellm is never
installed or imported. Prints the diff; --dry-run writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from shared.config import ConfigError
from shared.errors import BourseError
from shared.pricing.manifest import default_manifest_path, load_manifest
from shared.pricing.refresh import (
    encode_manifest,
    load_successors,
    price_map_from_wheel,
    read_price_map,
    refresh_manifest,
)

PEERS_FILE = Path(__file__).resolve().parents[2] / "requirements" / "peers.txt"
PIP_TIMEOUT_S = 600


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refresh = commands.add_parser(
        "refresh", help="Refresh the manifest's prices, limits and retirement dates from a LiteLLM price map."
    )
    refresh.add_argument("--map", type=Path, help="a LiteLLM price map (JSON); default: the pinned litellm wheel's")
    refresh.add_argument("--manifest", type=Path, help="manifest to refresh (default: the packaged manifest)")
    refresh.add_argument("--output", type=Path, help="where to write (default: over --manifest)")
    refresh.add_argument(
        "--as-of", help="date of the map's prices (default: the wheel's build or download date; today for --map)"
    )
    refresh.add_argument("--today", help="the date retirement is judged against (default: today, UTC)")
    refresh.add_argument("--successors", type=Path, help="successor table (default: the packaged one)")
    refresh.add_argument("--no-replace", action="store_true", help="report retired models, replace none")
    refresh.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("BOURSE_PEERS_DIR", Path.home() / ".cache" / "bourse" / "peers")),
        help="where the litellm wheel is kept (default: %(default)s)",
    )
    refresh.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    refresh.set_defaults(func=run_refresh)


def run_refresh(args: argparse.Namespace) -> int:
    try:
        today = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
        if args.map:
            data, as_of, source = read_price_map(args.map), today.isoformat(), f"LiteLLM price map {args.map.name}"
        else:
            version, hashes = pinned_litellm(PEERS_FILE)
            wheel = download_wheel(version, hashes, args.cache_dir)
            data, as_of = price_map_from_wheel(wheel)
            # A reproducible wheel carries no build date: the prices are as of the day the wheel was fetched.
            as_of = as_of or datetime.fromtimestamp(wheel.stat().st_mtime, UTC).date().isoformat()
            source = f"LiteLLM {version} (model_prices_and_context_window_backup.json, MIT licence)"
        as_of = date.fromisoformat(args.as_of).isoformat() if args.as_of else as_of
        path = args.manifest or default_manifest_path()
        successors = {} if args.no_replace else load_successors(args.successors)
        original = path.read_bytes()
        refreshed, report = refresh_manifest(
            load_manifest(path), data, today=today, as_of=as_of, source=source, successors=successors
        )
    except (BourseError, ValueError, OSError) as error:
        message = error.message if isinstance(error, BourseError) else str(error)
        print(f"bourse pricing refresh: {message}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    target = args.output or path
    renamed = {new: old for old, new, _ in report.replaced}
    target.write_bytes(encode_manifest(refreshed, original, renamed))
    print(f"wrote {target}")
    return 0


def pinned_litellm(peers_file: Path) -> tuple[str, list[str]]:
    """The litellm version and its wheel hashes from the hash-locked peers file."""
    try:
        lines = peers_file.read_text().splitlines()
    except OSError as error:
        raise ConfigError(f"cannot read the pinned versions {peers_file}: {error}") from error
    version, hashes = "", []
    for line in lines:
        text = line.strip().rstrip("\\").strip()
        if text.startswith("litellm=="):
            version = text.removeprefix("litellm==")
        elif version and text.startswith("--hash="):
            hashes.append(text.removeprefix("--hash="))
        elif version and text and not text.startswith("#"):
            break
    if not version or not hashes:
        raise ConfigError(f"{peers_file} pins no litellm version with hashes (run make lock)")
    return version, hashes


def download_wheel(version: str, hashes: list[str], cache_dir: Path) -> Path:
    """The pinned litellm wheel from the package index, without its dependencies, checked against its hashes."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for cached in sorted(cache_dir.glob(f"litellm-{version}-*.whl")):
        if f"sha256:{hashlib.sha256(cached.read_bytes()).hexdigest()}" in hashes:
            return cached  # already here and intact: no index needed
    requirement = cache_dir / f"litellm-{version}.txt"
    requirement.write_text(f"litellm=={version} " + " ".join(f"--hash={h}" for h in hashes) + "\n")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--require-hashes", "-r", str(requirement), "-d", str(cache_dir)]
    try:
        subprocess.run(command, check=True, timeout=PIP_TIMEOUT_S, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise ConfigError(f"pip could not download litellm=={version}: {error.stderr.strip()[-500:]}") from error
    except subprocess.TimeoutExpired as error:
        raise ConfigError(f"pip did not download litellm=={version} within {PIP_TIMEOUT_S}s") from error
    wheels = sorted(cache_dir.glob(f"litellm-{version}-*.whl"))
    if not wheels:
        raise ConfigError(f"no litellm-{version} wheel in {cache_dir} after pip download")
    return wheels[-1]
