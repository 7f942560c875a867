#!/usr/bin/env bash
# Regenerates the configuration reference in README.md from the settings
# tables compiled into the executables (<daemon> --help-markdown), between
# the config:begin and config:end markers.
#
#   scripts/gen-config-doc.sh [bin-dir]      rewrite README.md
#   scripts/gen-config-doc.sh --check [bin]  exit 1 if README.md is stale
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = --check ] && { check=1; shift; }
bin=${1:-build/bin}

section=$(mktemp)
trap 'rm -f "$section" "$section.new"' EXIT
for exe in order-service user-service payment-service inventory-service notification-service kafka-dev-broker kafka-local eventbus-dlq; do
    "$bin/$exe" --help-markdown
done >"$section"

awk -v section="$section" '
    /<!-- config:begin -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- config:end -->/ { skip = 0 }
    !skip { print }
' README.md >"$section.new"

if [ $check -eq 1 ]; then
    if ! cmp -s README.md "$section.new"; then
        echo "README.md's configuration reference is stale: run scripts/gen-config-doc.sh" >&2
        diff -u README.md "$section.new" | head -40 >&2
        exit 1
    fi
    exit 0
fi
cp "$section.new" README.md
