#!/usr/bin/env bash
# The contract checks (ctest label "contracts"), each by a tool this project
# did not write, installed by scripts/install-deps.sh --nodetools:
#
#   check.sh asyncapi   docs/asyncapi.yaml: the AsyncAPI parser, then the
#                       document against the code (check_asyncapi.mjs)
#   check.sh openapi    docs/openapi.yaml: Redocly's linter (redocly.yaml)
#
# tests/integration/test_openapi.py checks docs/openapi.yaml against the
# running services with schemathesis.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v node >/dev/null || [ ! -f "$here/node_modules/.eventbus-lock" ]; then
    echo "the contract checkers are not installed: run scripts/install-deps.sh --nodetools" >&2
    exit 1
fi
case "${1:-}" in
asyncapi)
    exec node "$here/check_asyncapi.mjs" "$root"
    ;;
openapi)
    # No telemetry, no update check: the result depends on the files only.
    export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
    exec node "$here/node_modules/@redocly/cli/bin/cli.js" lint --config "$here/redocly.yaml" \
        --format stylish "$root/docs/openapi.yaml"
    ;;
*)
    echo "usage: $0 asyncapi|openapi" >&2
    exit 2
    ;;
esac
