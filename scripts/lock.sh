#!/usr/bin/env bash
# Re-resolve every hash-locked requirement set from pyproject.toml. Run after changing dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
compile() { uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes "$@"; }
compile pyproject.toml --extra dev -o requirements/dev.txt
for extra in router provider-adapter simulator gateway ledger cache local-inference stack; do
  compile pyproject.toml --extra "$extra" -o "requirements/${extra}.txt"
done
compile --no-deps requirements/models.in -o requirements/models.txt 2>/dev/null || compile requirements/models.in --no-deps -o requirements/models.txt
compile requirements/bootstrap.in -o requirements/bootstrap.txt
compile --no-deps requirements/peers.in -o requirements/peers.txt
