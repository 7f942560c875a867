#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Overload benchmark: POST /orders on order-service, with its default
# settings, at 32, 512 and 2,000 keep-alive connections (HTTP_MAX_CONNECTIONS
# is 1,024: the last step is twice as many clients as the table holds).
#
# What a user should see under overload: intake keeps its throughput, the
# requests it accepts keep a bounded latency, every error is the suite's
# JSON error, and every 201 reaches Kafka. Past the table, new connections
# make room by closing the oldest connection not being answered (idle
# keep-alives here, all clients share 127.0.0.1): wrk counts those as
# socket errors (read errors on a closed keep-alive), and
# http_connections_closed_total{reason="evicted"} counts them on the server.
#
# What it does, every process on 127.0.0.1 and free ports:
#   1. starts redis-server, kafka-dev-broker (or kafka-local) and
#      order-service with its defaults (HTTP_PORT=0);
#   2. per step: wrk -t2 -cN -dD with a response() hook that counts every
#      status and checks each non-2xx body is {"error":{"code":...}};
#   3. waits for the outbox to drain and checks every 201 was published:
#      order-service's own counters and the broker's high watermarks;
#   4. prints a table (req/s, p50/p99/p99.9/max of the answered requests,
#      non-2xx, socket errors, non-JSON errors, evictions) and stops every
#      process it started, by PID.
#
# Exit status: 0 checks passed; 2 usage; 3 the run failed (a process died,
# an error was not JSON, a 201 was not published).
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/overload.sh [options]
  -d SECONDS      wrk duration of each step (default 15)
  -s "N N N"      connection counts (default "32 512 2000")
  -t THREADS      wrk threads (default 2)
  -p PARTITIONS   partitions per topic on the broker (default 16)
  --release | --debug | --bin DIR    which binaries (as bench/intake.sh)
  --broker B      dev (default) or kafka
  --keep          keep the work directory
  -h, --help      this help
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=overload

duration=15 steps="32 512 2000" wrk_threads=2 partitions=16 bindir="" keep=0 conns=32
while [ $# -gt 0 ]; do
    case "$1" in
    -d) duration=$2; shift 2 ;;
    -s) steps=$2; shift 2 ;;
    -t) wrk_threads=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    --release) bindir=$root/build-release/bin; shift ;;
    --debug) bindir=$root/build/bin; shift ;;
    --bin) bindir=$2; shift 2 ;;
    --broker) bench_broker=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$duration" "$wrk_threads" "$partitions" $steps; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "overload.sh: '$v' is not a positive number" >&2; exit 2; }
done
bindir=$(pick_bindir "$root" "$bindir")
[ -x "$bindir/order-service" ] || { echo "overload.sh: $bindir/order-service not found" >&2; exit 2; }
for t in wrk redis-server redis-cli curl kcat; do
    command -v "$t" >/dev/null || { echo "overload.sh: $t not installed" >&2; exit 2; }
done
max_steps=0
for c in $steps; do [ "$c" -le "$max_steps" ] || max_steps=$c; done
[ "$(ulimit -n)" -ge $((max_steps + 64)) ] || ulimit -n $((max_steps + 64)) 2>/dev/null ||
    { echo "overload.sh: wrk needs $((max_steps + 64)) open files; ulimit -n is $(ulimit -n)" >&2; exit 2; }

work=$(mktemp -d /tmp/overload.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
export WRK_COUNT_STATUS=1

log "machine: $(machine_line)"
start_redis
start_broker "$bindir" "$partitions"
start_order order "$bindir" 0
order_url=$os_url
log "order-service $order_url (pid $os_pid, default settings)"

evicted() { metric "$order_url" 'http_connections_closed_total{reason="evicted"}'; }
results=() ev=() total_wrk=0
run_wrk warmup "$order_url/orders" 3
total_wrk=$((total_wrk + $(field requests "$R")))
for c in $steps; do
    alive "$os_pid" || die "order-service died before the $c-connection step"
    conns=$c
    e0=$(evicted)
    run_wrk "c$c" "$order_url/orders" "$duration"
    total_wrk=$((total_wrk + $(field requests "$R")))
    results+=("$R")
    ev+=($(($(evicted) - e0)))
    log "c=$c: $(field rps "$R") req/s, p99 $(field p99_ms "$R") ms, non-2xx $(field non2xx "$R"), socket errors $(field errors "$R")"
done
alive "$os_pid" || die "order-service died during the last step"

log "waiting for the outbox to drain"
wait_outbox_drained "$order_url"
on_broker=$(broker_count)

echo
echo "== overload benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ): wrk -t$wrk_threads -d${duration}s per step, order-service defaults (HTTP_MAX_CONNECTIONS 1024, HTTP_THREADS 16) =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root"); binaries: $bindir; broker $(broker_name), $partitions partitions"
echo
printf '%-8s %9s %8s %8s %9s %8s %8s %8s %8s %8s\n' conns req/s p50_ms p99_ms p99.9_ms max_ms non2xx sockerr nonjson evicted
n=0
status=0
for c in $steps; do
    l=${results[$n]}
    printf '%-8s %9.0f %8s %8s %9s %8s %8s %8s %8s %8s\n' "$c" "$(field rps "$l")" \
        "$(field p50_ms "$l")" "$(field p99_ms "$l")" "$(field p999_ms "$l")" "$(field max_ms "$l")" \
        "$(field non2xx "$l")" "$(field errors "$l")" "$(field nonjson "$l")" "${ev[$n]}"
    [ "$(field nonjson "$l")" = 0 ] || { echo "CHECK FAILED: c=$c: errors that are not JSON"; status=3; }
    n=$((n + 1))
done
echo
echo "delivery: 201 answered $created (wrk counted $total_wrk answers + 1 smoke), published $published, on the broker $on_broker, outbox XLEN $xlen"
[ $drained -eq 1 ] || { echo "CHECK FAILED: the outbox did not drain within 30 s"; status=3; }
[ "$on_broker" -ge "$created" ] || { echo "CHECK FAILED: the broker holds $on_broker events for $created orders"; status=3; }
echo "SUMMARY $(n=0; for c in $steps; do printf 'c%s_rps=%s c%s_p99_ms=%s ' "$c" "$(field rps "${results[$n]}")" "$c" "$(field p99_ms "${results[$n]}")"; n=$((n + 1)); done)created=$created on_broker=$on_broker status=$status"
exit $status
