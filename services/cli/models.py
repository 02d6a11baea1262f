"""`bourse models build`: convert the shipped models to CTranslate2 (offline, cached by package version)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="Prepare the local models (SmolLM2 generator, MiniLM encoder).")
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="Convert the shipped models to CTranslate2 (skips ones already built).")
    build.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="Where converted models go (default: $BOURSE_MODELS_DIR or ~/.cache/bourse/models).",
    )
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from services.local_inference.api import ModelPackageMissing, ensure_smollm2
    from shared.embedding.convert import ensure_minilm

    steps = (("smollm2 (generator)", ensure_smollm2), ("minilm (sentence encoder)", ensure_minilm))
    for label, ensure in steps:
        started = time.perf_counter()
        try:
            path = ensure(args.models_dir)
        except (ModelPackageMissing, ImportError) as error:
            print(f"error: {label}: {error}", file=sys.stderr)
            return 1
        print(f"{label}: {path} ({time.perf_counter() - started:.1f} s)")
    return 0
