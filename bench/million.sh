#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Memory after a million orders: N orders (default 1,000,000) through the
# whole saga on the embedded broker, then each daemon's VmRSS and VmHWM and
# Redis' used_memory, keys by kind, and how many carry a TTL.
#
# The saga each order takes: no product has stock (INVENTORY_DEFAULT_STOCK
# 0), so OrderCreated -> PaymentProcessed -> InventoryInsufficient -> the
# order CANCELLED (out of stock, terminal) -> PaymentRefunded; every daemon
# writes its state for it (order record, payment decision and refund,
# inventory outcome, done-marks, three notification lines).
#
# --retention S runs order-service with ORDER_RETENTION_S=S (and
# IDEMPOTENCY_KEY_TTL_S=S) and the consumers with IDEMPOTENCY_TTL_S=S, so
# every TTL the contract allows is short enough to show within the run;
# after the saga the script waits S seconds more and measures again: Redis
# expires lazily (on access) and actively (a sample of keys with a TTL, ten
# times a second), so a key past its TTL may linger a while.
#
# Intake runs in wrk bursts (-t1 -c32, BURST seconds) and waits after each
# until every consumer has caught up: the mock broker keeps only 5 MiB per
# partition, and a consumer lagging past that would lose events.
#
# Usage: bench/million.sh [-n ORDERS] [-p PARTITIONS] [-b BURST_S]
#                         [--retention S] [--bin DIR] [--keep]
# Exit status: 0 done, 2 usage, 3 the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=million

orders=1000000 partitions=16 burst=3 retention=0 bindir="" keep=0 conns=32 wrk_threads=1
while [ $# -gt 0 ]; do
    case "$1" in
    -n) orders=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    -b) burst=$2; shift 2 ;;
    --retention) retention=$2; shift 2 ;;
    --bin) bindir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "million.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in "$orders" "$partitions" "$burst" "$retention"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "million.sh: '$v' is not a number" >&2; exit 2; }
done
bindir=$(pick_bindir "$root" "$bindir")
work=$(mktemp -d /tmp/million.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ttl_env=()
if [ "$retention" -gt 0 ]; then
    ttl_env=(IDEMPOTENCY_TTL_S="$((retention < 60 ? 60 : retention))") # its floor is 60
    order_env=(ORDER_RETENTION_S="$retention" IDEMPOTENCY_KEY_TTL_S="$retention")
else
    order_env=(ORDER_RETENTION_S=0)
fi

load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(machine_line); load $load0"
start_redis
start_broker "$bindir" "$partitions"
start_consumer payment "$bindir" payment-service "${ttl_env[@]+"${ttl_env[@]}"}"
pay_pid=$c_pid pay_url=$c_url
start_consumer notification "$bindir" notification-service NOTIFY_FILE="$work/notifications.jsonl" \
    "${ttl_env[@]+"${ttl_env[@]}"}"
notify_pid=$c_pid notify_url=$c_url
env KAFKA_BROKERS="$brokers" REDIS_URL="redis://127.0.0.1:$redis_port/0" HTTP_PORT=0 \
    BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info INVENTORY_DEFAULT_STOCK=0 "${ttl_env[@]+"${ttl_env[@]}"}" \
    "$bindir/inventory-service" >"$work/inventory.log" 2>&1 &
inv_pid=$!
pids+=("$inv_pid")
inv_url=http://127.0.0.1:$(daemon_port inventory "$inv_pid")
start_order order "$bindir" 0 "${order_env[@]}" "${ttl_env[@]+"${ttl_env[@]}"}"
for url in "$pay_url" "$notify_url" "$inv_url"; do wait_for "$url/ready" 300 curl -sf "$url/ready"; done

# consumed URL: events a daemon's consumer settled (handled, duplicate or dead-lettered).
consumed() {
    { curl -sf "$1/metrics" || true; } |
        awk '/^events_consumed_total\{/ && /result="(ok|duplicate|dlq)"/ {n += $2} END {printf "%d\n", n}'
}
accepted() { metric "$os_url" 'http_requests_total{route="/orders",code="201"}' | cut -d. -f1; }
# caught_up: every consumer has settled what the accepted orders cause so far.
caught_up() {
    local a
    a=$(accepted)
    [ "$(consumed "$pay_url")" -ge $((2 * a)) ] && [ "$(consumed "$inv_url")" -ge "$a" ] &&
        [ "$(consumed "$os_url")" -ge $((2 * a)) ] && [ "$(consumed "$notify_url")" -ge $((3 * a)) ] &&
        [ "$(rcli XLEN orders:outbox)" = 0 ]
}
wait_caught_up() {
    local i
    for ((i = 0; i < 3000; i++)); do
        caught_up && return 0
        for p in "$os_pid" "$pay_pid" "$inv_pid" "$notify_pid" "$redis_pid" "$broker_pid"; do
            alive "$p" || die "pid $p died (logs in $work)"
        done
        sleep 0.1
    done
    die "the saga did not catch up within 300 s: accepted $(accepted), consumed payment $(consumed "$pay_url") inventory $(consumed "$inv_url") order $(consumed "$os_url") notification $(consumed "$notify_url")"
}

t0=$(date +%s.%N)
while [ "$(accepted)" -lt "$orders" ]; do
    run_wrk burst "$os_url/orders" "$burst"
    wait_caught_up
    log "$(accepted) orders through the saga"
done
t1=$(date +%s.%N)
n=$(accepted)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b - a}')

# snapshot LABEL: memory of every daemon and of Redis, keys by kind.
snapshot() {
    local label=$1 name pid
    echo "-- $label (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for name in order payment inventory notification; do
        case $name in
        order) pid=$os_pid ;; payment) pid=$pay_pid ;; inventory) pid=$inv_pid ;; notification) pid=$notify_pid ;;
        esac
        awk -v n="$name" '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2}
            END {printf "%-22s VmRSS %7.1f MB  VmHWM %7.1f MB\n", n "-service", r / 1024, h / 1024}' "/proc/$pid/status"
    done
    awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2}
        END {printf "%-22s VmRSS %7.1f MB  VmHWM %7.1f MB\n", "kafka-dev-broker", r / 1024, h / 1024}' "/proc/$broker_pid/status"
    rcli INFO memory | awk -F: '$1 == "used_memory" || $1 == "used_memory_rss" || $1 == "used_memory_peak" {
        sub(/\r/, "", $2); printf "redis %-18s %8.1f MB\n", $1, $2 / 1048576}'
    rcli INFO keyspace | sed -n 's/^db0:/redis keyspace db0: /p' | tr -d '\r'
    # Keys by kind: the prefix up to the last ':' (ids cut off).
    rcli --scan | sed 's/:[^:]*$//' | sort | uniq -c | sort -rn | awk '{printf "  %9d %s:*\n", $1, $2}'
}

echo
echo "== million $(date -u +%Y-%m-%dT%H:%M:%SZ): $n orders through the saga in ${secs}s ($(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') orders/s), $partitions partitions, retention ${retention}s (0: none) =="
echo "machine: $(machine_line); load before $load0"
echo "source: $(source_line "$root"); binaries: $bindir"
snapshot "after the saga"
if [ "$retention" -gt 0 ]; then
    # Past every TTL, and a little more for Redis' active expiry.
    sleep "$((retention + 5))"
    for ((i = 0; i < 600; i++)); do
        expires=$(rcli INFO keyspace | sed -n 's/^db0:.*expires=\([0-9]*\).*/\1/p')
        [ "${expires:-0}" -lt $((n / 100)) ] && break
        sleep 0.5
    done
    snapshot "$((retention + 5 + i / 2))s later"
fi
