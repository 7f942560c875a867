#!/usr/bin/env bash
# Builds the suite with warnings as errors and runs every unit and
# integration test (ctest). Installs what is missing first.
#
#   scripts/test.sh            the default preset (build/)
#   scripts/test.sh asan       the whole suite under ASan+UBSan (build-asan/)
#   scripts/test.sh <preset> -L unit    extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-default}"
shift || true

scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
ctest --preset "$preset" --output-on-failure "$@"
