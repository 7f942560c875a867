#!/usr/bin/env bash
# Builds the suite with warnings as errors and runs every unit and
# integration test (ctest): first the embedded-broker tier, then the
# real-Kafka tier (label kafka) on a three-node kafka-local cluster. Installs
# what is missing first (Debian packages; Java and Maven for the real tier;
# the Kafka release through Maven on kafka-local's first run).
#
#   scripts/test.sh            the default preset (build/), both tiers
#   scripts/test.sh asan       the embedded tier under ASan+UBSan (build-asan/)
#   scripts/test.sh <preset> -L unit    extra arguments go to ctest (one run)
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-default}"
shift || true

case "$preset" in
default | release) scripts/install-deps.sh --kafka --pytools --nodetools ;;
*) scripts/install-deps.sh --pytools --nodetools ;;
esac
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
if [ $# -gt 0 ]; then
    exec ctest --preset "$preset" --output-on-failure "$@"
fi
# The tiers one after the other: three JVMs beside the parallel embedded
# tests would make both slower and their timings noisier on two cores.
ctest --preset "$preset" --output-on-failure -LE kafka
if ctest --preset "$preset" -N -L kafka | grep -q "Total Tests: [1-9]"; then
    ctest --preset "$preset" --output-on-failure -L kafka
fi
