#!/usr/bin/env bash
# Installs whatever the suite needs that is missing, from Debian 12 packages.
# Safe to run again: installs nothing when everything is there.
#
#   scripts/install-deps.sh          build, test and demo dependencies
#   scripts/install-deps.sh --bench  also the benchmark tools (wrk) and the Express + kafkajs
#                                    peer of bench/intake.sh --peer (pinned in
#                                    bench/peer/package-lock.json) into bench/peer/node_modules/;
#                                    Debian's nodejs and npm when there is no node
#   scripts/install-deps.sh --ci     also what CI checks use (clang-format, valgrind, ...)
#   scripts/install-deps.sh --kafka  also Java and Maven for kafka-local (the real-Kafka
#                                    tier, ./test-kafka.sh --kafka); kafka-local fetches
#                                    the Apache Kafka release through Maven on first use
#   scripts/install-deps.sh --pytools  also the test-only tools Debian lacks, from PyPI
#                                    (tests/requirements.txt, pinned) into a virtualenv,
#                                    .pytools/ in the source tree, beside Debian's packages
#   scripts/install-deps.sh --nodetools  also the contract checkers from npm (the AsyncAPI
#                                    parser, Redocly's OpenAPI linter; pinned in
#                                    tests/contracts/package-lock.json) into
#                                    tests/contracts/node_modules/; Debian's nodejs and npm
#                                    when there is no node
set -euo pipefail
cd "$(dirname "$0")/.."

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
    --bench) packages+=(wrk) benchpeer=1 ;;
    --kafka) packages+=(openjdk-17-jre-headless maven) ;;
    --ci) packages+=(clang-format docker-compose clang libclang-rt-14-dev prometheus) ;;
    --pytools) packages+=(python3-venv python3-jsonschema) pytools=1 ;;
    --nodetools) nodetools=1 ;;
    *) echo "usage: $0 [--bench] [--ci] [--kafka] [--pytools] [--nodetools]" >&2; exit 2 ;;
    esac
done

# The PyPI tools, once Debian's packages are there. The virtualenv sees
# Debian's site packages (python3-kafka, python3-jsonschema), so the tests
# that need a PyPI tool run with .pytools/bin/python3 and nothing else.
install_pytools() {
    local want=tests/requirements.txt stamp=.pytools/requirements.txt
    [ -n "${pytools:-}" ] || return 0
    cmp -s "$want" "$stamp" 2>/dev/null && return 0
    echo "Installing the test tools from PyPI into .pytools/ ($want)" >&2
    rm -rf .pytools
    /usr/bin/python3 -m venv --system-site-packages .pytools
    .pytools/bin/pip install -q --disable-pip-version-check -r "$want"
    cp "$want" "$stamp"
}

# The npm trees: the contract checkers (tests/contracts, --nodetools) and the
# benchmark's Express + kafkajs peer (bench/peer, --bench). A node already on
# the machine (Debian's, or a newer one) is used as it is; otherwise Debian's
# nodejs and npm (node 18 is enough). Installed with npm ci from the
# committed lock, scripts not run, and again only when the lock changes.
if { [ -n "${nodetools:-}" ] || [ -n "${benchpeer:-}" ]; } && ! command -v node >/dev/null; then
    packages+=(nodejs npm)
fi
# install_npm_tree DIR WHAT: npm ci in DIR unless its lock is installed already.
install_npm_tree() {
    local dir=$1 what=$2
    local lock=$dir/package-lock.json stamp=$dir/node_modules/.eventbus-lock
    cmp -s "$lock" "$stamp" 2>/dev/null && return 0
    echo "Installing $what from npm into $dir/node_modules ($lock)" >&2
    rm -rf "$dir/node_modules"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$lock" "$stamp"
}
install_npm_trees() {
    [ -z "${nodetools:-}" ] || install_npm_tree tests/contracts "the contract checkers"
    [ -z "${benchpeer:-}" ] || install_npm_tree bench/peer "the benchmark peer"
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    install_pytools
    install_npm_trees
    exit 0
fi

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
install_pytools
install_npm_trees
