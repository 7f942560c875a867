#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# HTTP_THREADS sweep: which libmicrohttpd pool size serves POST /orders best.
#
# On a noisy 2-core machine, runs a few minutes apart differ by more than the
# settings do, so this compares the settings inside one run: it starts one
# order-service per HTTP_THREADS value, all at once, sharing one redis-server
# and one kafka-dev-broker (each service on its own Redis database, so each
# has its own outbox and relay), then runs interleaved wrk rounds (every value
# once per round, in a rotating order) and reports the median of each figure
# per value, order-service's CPU per order and its peak RSS (VmHWM). The idle
# services meanwhile cost little (a relay poll every 100 ms). Finally it
# checks that every service's outbox drained and the broker holds an event
# for every 201.
#
# Exit status: 0 done, 2 usage, 3 the run failed (a process died, non-2xx,
# events lost).
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/threads_sweep.sh [options]
  -T "N N ..."    HTTP_THREADS values (default "1 2 4 8 16 32")
  -d SECONDS      wrk duration of each round (default 8)
  -r ROUNDS       rounds (default 3)
  -w SECONDS      warm-up per service (default 2)
  -c CONNECTIONS  wrk connections (default 32)
  -t THREADS      wrk threads (default 1)
  -p PARTITIONS   partitions per topic on the broker (default 16)
  --release | --debug | --bin DIR   as in intake.sh
  --keep          keep the work directory
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=sweep

values="1 2 4 8 16 32" duration=8 rounds=3 warmup=2 conns=32 wrk_threads=1 partitions=16
bindir="" keep=0
while [ $# -gt 0 ]; do
    case "$1" in
    -T) values=$2; shift 2 ;;
    -d) duration=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -w) warmup=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -t) wrk_threads=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    --release) bindir=$root/build-release/bin; shift ;;
    --debug) bindir=$root/build/bin; shift ;;
    --bin) bindir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
read -r -a vals <<<"$values"
for v in "${vals[@]}" "$duration" "$rounds" "$warmup" "$conns" "$wrk_threads" "$partitions"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "threads_sweep.sh: '$v' is not a positive number" >&2; exit 2; }
done
[ ${#vals[@]} -le 16 ] || { echo "threads_sweep.sh: at most 16 values (Redis databases)" >&2; exit 2; }
bindir=$(pick_bindir "$root" "$bindir")
[ -x "$bindir/order-service" ] || { echo "threads_sweep.sh: $bindir/order-service not found" >&2; exit 2; }

work=$(mktemp -d /tmp/sweep.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(machine_line)"
log "binaries: $bindir; HTTP_THREADS values: ${vals[*]}"
start_redis
start_broker "$bindir" "$partitions"

declare -A url pid db res cpu wrk_total
for i in "${!vals[@]}"; do
    v=${vals[$i]}
    start_order "order-$v" "$bindir" "$i" HTTP_THREADS="$v"
    url[$v]=$os_url pid[$v]=$os_pid db[$v]=$i res[$v]="" cpu[$v]="" wrk_total[$v]=0
    start_rss_sampler "$os_pid" "$work/rss-$v"
    log "order-service HTTP_THREADS=$v: ${url[$v]} (pid $os_pid, redis db $i)"
done

for v in "${vals[@]}"; do
    run_wrk "warmup-$v" "${url[$v]}/orders" "$warmup"
    wrk_total[$v]=$((wrk_total[$v] + $(field requests "$R")))
done

n=${#vals[@]}
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < n; k++)); do
        v=${vals[$(((k + r) % n))]} # rotate the start so no value always runs first
        alive "${pid[$v]}" || die "order-service HTTP_THREADS=$v died: $(tail -n3 "$work/order-$v.log")"
        c0=$(cpu_s "${pid[$v]}")
        run_wrk "$v-$r" "${url[$v]}/orders" "$duration"
        c1=$(cpu_s "${pid[$v]}")
        req=$(field requests "$R")
        wrk_total[$v]=$((wrk_total[$v] + req))
        res[$v]="${res[$v]}$R"$'\n'
        cpu[$v]="${cpu[$v]} $(us_per "$c0" "$c1" "$req")"
        log "round $((r + 1)) HTTP_THREADS=$v: $(field rps "$R") req/s, p99 $(field p99_ms "$R") ms"
    done
done

log "waiting for the outboxes to drain"
status=0 total_created=0
declare -A created published xlen
for v in "${vals[@]}"; do
    for ((i = 0; i < 300; i++)); do
        created[$v]=$(metric "${url[$v]}" 'http_requests_total{route="/orders",code="201"}')
        published[$v]=$(metric "${url[$v]}" 'events_published_total{topic="order-created"}')
        xlen[$v]=$(rcli -n "${db[$v]}" XLEN orders:outbox)
        [ "${xlen[$v]}" = 0 ] && [ "${published[$v]}" -ge "${created[$v]}" ] && break
        sleep 0.1
    done
    total_created=$((total_created + created[$v]))
done
on_broker=$(broker_count)

echo
echo "== HTTP_THREADS sweep $(date -u +%Y-%m-%dT%H:%M:%SZ): wrk -t$wrk_threads -c$conns -d${duration}s, $rounds interleaved rounds =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root")"
echo "binaries: $bindir; broker $partitions partitions; all services share Redis and the broker"
echo
printf '%-8s %9s %-26s %8s %8s %8s %8s %7s %11s %8s %s\n' threads req/s "(rounds)" p50_ms p90_ms p99_ms p99.9_ms non2xx cpu_us/ord VmHWM_MB delivery
for v in "${vals[@]}"; do
    mapfile -t lines < <(printf '%s' "${res[$v]}")
    med=$(medians "${lines[@]}")
    rps_list=$(for l in "${lines[@]}"; do printf '%.0f ' "$(field rps "$l")"; done)
    non2xx=0
    for l in "${lines[@]}"; do non2xx=$((non2xx + $(field non2xx "$l") + $(field errors "$l"))); done
    read -r _ hwm _ <"$work/rss-$v" || hwm=0
    # shellcheck disable=SC2086 # word splitting wanted
    cpu_med=$(printf '%s\n' ${cpu[$v]} | median)
    ok="ok"
    if [ "${xlen[$v]}" != 0 ] || [ "${published[$v]}" -lt "${created[$v]}" ] ||
        [ "${created[$v]}" -lt $((wrk_total[$v] + 1)) ]; then
        ok="FAILED(201 ${created[$v]}, published ${published[$v]}, outbox ${xlen[$v]}, wrk ${wrk_total[$v]})"
        status=3
    fi
    [ "$non2xx" -eq 0 ] || status=3
    printf '%-8s %9.0f %-26s %8s %8s %8s %8s %7s %11s %8s %s\n' "$v" "$(field rps "$med")" "($rps_list)" \
        "$(field p50_ms "$med")" "$(field p90_ms "$med")" "$(field p99_ms "$med")" \
        "$(field p999_ms "$med")" "$non2xx" "$cpu_med" "$(mb "$hwm")" "$ok"
    echo "SWEEP http_threads=$v rps=$(field rps "$med") p50_ms=$(field p50_ms "$med") p99_ms=$(field p99_ms "$med") p999_ms=$(field p999_ms "$med") cpu_us_per_order=$cpu_med hwm_kb=$hwm" >>"$work/sweep.txt"
done
echo
echo "broker: $on_broker order-created events for $total_created orders answered 201"
[ "$on_broker" -ge "$total_created" ] || { echo "CHECK FAILED: events missing on the broker"; status=3; }
cat "$work/sweep.txt"

for v in "${vals[@]}"; do
    rc=0
    stop_pid "${pid[$v]}" || rc=$?
    forget_pid "${pid[$v]}"
    [ $rc -eq 0 ] || { echo "order-service HTTP_THREADS=$v exited with status $rc at shutdown"; status=3; }
done
exit $status
