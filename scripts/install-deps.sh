#!/usr/bin/env bash
# Installs whatever the suite needs that is missing, from Debian 12 packages.
# Safe to run again: installs nothing when everything is there.
#
#   scripts/install-deps.sh          build, test and demo dependencies
#   scripts/install-deps.sh --bench  also the benchmark tools (wrk)
#   scripts/install-deps.sh --ci     also what CI checks use (clang-format, valgrind, ...)
#   scripts/install-deps.sh --kafka  also Java and Maven for kafka-local (the real-Kafka
#                                    tier, ./test-kafka.sh --kafka); kafka-local fetches
#                                    the Apache Kafka release through Maven on first use
set -euo pipefail

packages=(
    # build
    gcc make cmake pkg-config
    # libraries (docs/contract.md section 1)
    librdkafka-dev libmicrohttpd-dev libcjson-dev uuid-dev libhiredis-dev libcmocka-dev
    # servers and tools the tests and the demo run
    redis-server kcat curl python3 procps
    # the integration tests' independent Kafka client and Prometheus text parser
    python3-kafka python3-prometheus-client
    # the suite under valgrind (preset valgrind)
    valgrind
)
for arg in "$@"; do
    case "$arg" in
    --bench) packages+=(wrk) ;;
    --kafka) packages+=(openjdk-17-jre-headless maven) ;;
    --ci) packages+=(clang-format docker-compose clang libclang-rt-14-dev) ;;
    *) echo "usage: $0 [--bench] [--ci] [--kafka]" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# redis-server's package starts a system Redis on 6379 where an init system
# runs; the suite never uses it (tests and demo start their own on free ports).
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
