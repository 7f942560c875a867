#!/usr/bin/env bash
# The Prometheus configuration and alert rules under deploy/, checked by
# Prometheus's own promtool: the configuration with the rule files it loads
# (check config), the rules alone (check rules), and the rules' unit tests,
# in which every alert fires on the series it is for and stays silent on
# others (test rules, deploy/prometheus/alerts_test.yml).
#
#   tests/deploy/check_alerts.sh
#
# promtool is in Debian's prometheus package (scripts/install-deps.sh
# --ci). Without it the check is skipped (exit 77) with a line saying so,
# except in CI (CI=true), where a missing promtool fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "promtool not found (scripts/install-deps.sh --ci installs it)" >&2
        exit 1
    fi
    echo "SKIP: promtool not found; install Debian's prometheus package (scripts/install-deps.sh --ci)"
    exit 77
fi
promtool --version | head -1
promtool check config deploy/prometheus.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
