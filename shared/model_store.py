"""Where converted models live: $BOURSE_MODELS_DIR, else ~/.cache/bourse/models.

Converters write `<models_dir>/<name>-<source package version>/` atomically (temp dir + rename), so a
directory that exists is complete, and a new package version converts again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def models_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get("BOURSE_MODELS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "bourse" / "models"
