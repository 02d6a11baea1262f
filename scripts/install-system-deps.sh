#!/usr/bin/env bash
# What the tests need beyond the Python environment, installed only when missing (a fresh machine, or CI):
#   system: Chromium and chromium-driver (the ledger dashboard is rendered headless), Node.js and npm (the Node.js
#           examples and the dashboard's chart library), from Debian's packages with apt-get;
#   node:   the npm packages of every Node.js directory, from their committed lock files (npm ci).
# Usage: scripts/install-system-deps.sh [system|node|all]   (default: all). `make test` and .ci/run call it.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_DIRS=(services/ledger/dashboard examples/node-subscriber examples/node-client)

system_packages() {
  local need=()
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  command -v node >/dev/null || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
  ((${#need[@]})) || return 0
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "missing system packages: ${need[*]}; install them as root" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "installing system packages: ${need[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
}

node_packages() {
  if ! command -v npm >/dev/null; then
    echo "npm not found: skipping Node.js packages (scripts/install-system-deps.sh system installs it)"
    return 0
  fi
  local dir
  for dir in "${NODE_DIRS[@]}"; do
    test -d "$dir/node_modules" || npm ci --silent --no-audit --no-fund --prefix "$dir"
  done
}

case "${1:-all}" in
  system) system_packages ;;
  node) node_packages ;;
  all) system_packages && node_packages ;;
  *) echo "usage: $0 [system|node|all]" >&2; exit 2 ;;
esac
