#!/bin/sh
# Build /venv for one service: its hash-locked requirements/<extra>.txt, then the project wheel without dependencies.
# Run by deploy/docker/Dockerfile with the repository's requirements/ at /req and the project wheel at /wheel.
set -eu
extra="$1"
python -m venv /venv
/venv/bin/pip install --require-hashes --no-deps -r "/req/${extra}.txt"
/venv/bin/pip install --no-deps --no-index /wheel/*.whl
/venv/bin/python -m compileall -q /venv
