#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run every test.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

python3 -m pip install -q -e '.[all]'

export SPIKINGGAMMA_DATA_DIR="${SPIKINGGAMMA_DATA_DIR:-$(cd .. && pwd)/shared/data}"
mkdir -p artifacts
python3 -m pytest -q --timeout=900 --durations=15 "$@"
