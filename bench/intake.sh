#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Intake benchmark: POST /orders on order-service against a bare
# libmicrohttpd server answering a fixed 201, in the same run; with --peer
# also against the tutorials' Express + kafkajs service (bench/peer).
#
# Target (the first intake issue): wrk -t1 -c32 -d15s with keep-alive, broker
# and Redis on the same machine, sustains >= 16,000 orders/s with p99 < 10 ms,
# and order-service stays under 30 MB RSS. With --peer, issue 13's targets
# too: order-service >= 10x the peer's orders/s in the same run, p99 <= 5 ms,
# RSS <= 30 MB.
#
# What it does, every process on 127.0.0.1 and free ports:
#   1. starts redis-server (no persistence), kafka-dev-broker (--partitions P,
#      because the mock keeps only 5 MiB per partition), order-service
#      (HTTP_PORT=0, port read from its log), bench-bare-mhd (port 0) and,
#      with --peer, the peer (node bench/peer/server.js, PORT=0);
#   2. warms each up, then runs ROUNDS interleaved wrk rounds against each
#      (order, peer, bare, order, peer, bare, ...) and takes the median of
#      each figure;
#   3. samples order-service's (and the peer's) VmRSS/VmHWM every 200 ms,
#      Redis' used memory, and the CPU time of order-service, Redis, the broker
#      (and the peer) per order;
#   4. waits for the outbox to drain and checks that every 201 reached Kafka:
#      order-service's /metrics (http_requests_total 201 against
#      events_published_total), XLEN orders:outbox == 0, and the broker's own
#      count (sum of the high watermarks of order-created, read with kcat;
#      the mock trims old data but never offsets); with --peer the broker
#      must hold the peer's 201s too (its GET /stats) and the peer must have
#      answered only 201s;
#   5. prints a summary and stops everything it started (trap EXIT, by PID).
#
# Exit status: 0 all checks and targets met; 1 a target missed; 2 usage;
# 3 the run itself failed (a process died, errors, events lost).
#
# The machine has 2 cores shared by wrk, order-service, Redis and the broker:
# compare figures within one run (the order/bare ratio), not across runs.
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/intake.sh [options]
  -d SECONDS      wrk duration of each measured round (default 15)
  -c CONNECTIONS  wrk connections (default 32)
  -t THREADS      wrk threads (default 1)
  -r ROUNDS       measured rounds per server, interleaved (default 3)
  -w SECONDS      warm-up per server before the rounds (default 3)
  -H N            HTTP_THREADS for order-service (default 16, the service's default)
  -E LOOP         HTTP_EVENT_LOOP for order-service: epoll (default, the service's) or poll
  -b N            thread pool of bench-bare-mhd (default: the same as order-service)
  -p PARTITIONS   partitions per topic on the broker (default 16)
  --release       use build-release/bin (fail if it is missing)
  --debug         use build/bin
  --bin DIR       use the binaries in DIR
  --broker B      dev (kafka-dev-broker, default) or kafka (kafka-local, 3 brokers)
  --no-bare       skip the bare libmicrohttpd rounds
  --peer          also the Express + kafkajs peer (bench/peer; scripts/install-deps.sh
                  --bench installs it), interleaved with order-service, on the same
                  broker; adds the ratio order/peer and issue 13's targets
  --perf          after the measured rounds, one extra order round (<= 10 s)
                  with perf recording order-service; prints the top symbols
                  (use --debug for a build with debug info)
  --keep          keep the work directory (logs, wrk output, perf data)
  -h, --help      this help
Binaries come from build-release/bin if it has order-service, else build/bin.
bench-bare-mhd is compiled into the work directory if the bin directory lacks it.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=intake

duration=15 conns=32 wrk_threads=1 rounds=3 warmup=3 http_threads=16 bare_threads=""
event_loop=epoll partitions=16 bindir="" do_bare=1 do_peer=0 do_perf=0 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
    -d) duration=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -t) wrk_threads=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -w) warmup=$2; shift 2 ;;
    -H) http_threads=$2; shift 2 ;;
    -E) event_loop=$2; shift 2 ;;
    -b) bare_threads=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    --release) bindir=$root/build-release/bin; shift ;;
    --debug) bindir=$root/build/bin; shift ;;
    --bin) bindir=$2; shift 2 ;;
    --broker) bench_broker=$2; shift 2 ;;
    --no-bare) do_bare=0; shift ;;
    --peer) do_peer=1; shift ;;
    --perf) do_perf=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$duration" "$conns" "$wrk_threads" "$rounds" "$warmup" "$partitions" \
    ${http_threads:+"$http_threads"} ${bare_threads:+"$bare_threads"}; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "intake.sh: '$v' is not a number" >&2; exit 2; }
done
if [ "$rounds" -lt 1 ] || [ "$duration" -lt 1 ] || [ "$conns" -lt 1 ] || [ "$wrk_threads" -lt 1 ]; then
    echo "intake.sh: -r, -d, -c and -t must be >= 1" >&2
    exit 2
fi
case "$event_loop" in epoll | poll) ;; *) echo "intake.sh: -E must be epoll or poll" >&2; exit 2 ;; esac
bare_threads=${bare_threads:-$http_threads}
bindir=$(pick_bindir "$root" "$bindir")
for b in order-service "$(broker_name)"; do
    [ -x "$bindir/$b" ] || { echo "intake.sh: $bindir/$b not found; build first" >&2; exit 2; }
done
for t in wrk redis-server redis-cli curl kcat; do
    command -v "$t" >/dev/null || { echo "intake.sh: $t not installed" >&2; exit 2; }
done
if [ $do_peer -eq 1 ]; then
    command -v node >/dev/null || { echo "intake.sh: node not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
    [ -d "$here/peer/node_modules/kafkajs" ] ||
        { echo "intake.sh: bench/peer/node_modules missing; run scripts/install-deps.sh --bench" >&2; exit 2; }
fi
[ $do_perf -eq 0 ] || command -v perf >/dev/null || { echo "intake.sh: perf not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/intake.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(machine_line)"
log "binaries: $bindir; work directory: $work"
[ $do_bare -eq 0 ] || bare_bin=$(ensure_bare "$bindir")

# ---- processes ------------------------------------------------------------------

start_redis
start_broker "$bindir" "$partitions"
log "redis 127.0.0.1:$redis_port (pid $redis_pid), broker $brokers (pid $broker_pid, $partitions partitions)"
start_order order "$bindir" 0 HTTP_THREADS="$http_threads" HTTP_EVENT_LOOP="$event_loop"
order_url=$os_url
log "order-service $order_url (pid $os_pid, HTTP_THREADS=$http_threads, HTTP_EVENT_LOOP=$event_loop)"
if [ $do_bare -eq 1 ]; then
    start_bare "$bare_bin" "$bare_threads"
    log "bench-bare-mhd $bare_url (pid $bare_pid, pool of $bare_threads)"
fi
if [ $do_peer -eq 1 ]; then
    start_peer
    log "peer (node $(node --version), express + kafkajs) $peer_url (pid $peer_pid)"
    start_rss_sampler "$peer_pid" "$work/peer-rss"
fi
start_rss_sampler "$os_pid" "$work/rss"

# ---- rounds -----------------------------------------------------------------------

total_wrk_requests=0 # requests wrk counted as completed against order-service
peer_wrk_requests=0  # and against the peer

log "warm-up: ${warmup}s each"
run_wrk warmup-order "$order_url/orders" "$warmup"
total_wrk_requests=$((total_wrk_requests + $(field requests "$R")))
if [ $do_peer -eq 1 ]; then
    run_wrk warmup-peer "$peer_url/orders" "$warmup"
    peer_wrk_requests=$((peer_wrk_requests + $(field requests "$R")))
fi
[ $do_bare -eq 0 ] || run_wrk warmup-bare "$bare_url/orders" "$warmup"

o_res=() b_res=() p_res=() o_cpu=() redis_cpu=() broker_cpu=() p_cpu=() p_broker_cpu=()
for ((n = 1; n <= rounds; n++)); do
    alive "$os_pid" || die "order-service died before round $n: $(tail -n3 "$work/order.log")"
    c0=$(cpu_s "$os_pid") rc0=$(cpu_s "$redis_pid") bc0=$(broker_cpu_s)
    run_wrk "order-$n" "$order_url/orders" "$duration"
    c1=$(cpu_s "$os_pid") rc1=$(cpu_s "$redis_pid") bc1=$(broker_cpu_s)
    req=$(field requests "$R")
    total_wrk_requests=$((total_wrk_requests + req))
    o_res+=("$R")
    o_cpu+=("$(us_per "$c0" "$c1" "$req")")
    redis_cpu+=("$(us_per "$rc0" "$rc1" "$req")")
    broker_cpu+=("$(us_per "$bc0" "$bc1" "$req")")
    log "order round $n: $(field rps "$R") req/s, p99 $(field p99_ms "$R") ms, non-2xx $(field non2xx "$R")"
    if [ $do_peer -eq 1 ]; then
        alive "$peer_pid" || die "the peer died before round $n: $(tail -n3 "$work/peer.err")"
        c0=$(cpu_s "$peer_pid") bc0=$(broker_cpu_s)
        run_wrk "peer-$n" "$peer_url/orders" "$duration"
        c1=$(cpu_s "$peer_pid") bc1=$(broker_cpu_s)
        req=$(field requests "$R")
        peer_wrk_requests=$((peer_wrk_requests + req))
        p_res+=("$R")
        p_cpu+=("$(us_per "$c0" "$c1" "$req")")
        p_broker_cpu+=("$(us_per "$bc0" "$bc1" "$req")")
        log "peer  round $n: $(field rps "$R") req/s, p99 $(field p99_ms "$R") ms, non-2xx $(field non2xx "$R")"
    fi
    if [ $do_bare -eq 1 ]; then
        run_wrk "bare-$n" "$bare_url/orders" "$duration"
        b_res+=("$R")
        log "bare  round $n: $(field rps "$R") req/s, p99 $(field p99_ms "$R") ms"
    fi
done
alive "$os_pid" || die "order-service died during the last round: $(tail -n3 "$work/order.log")"

# An extra, unmeasured round under perf (its overhead would skew the figures).
if [ $do_perf -eq 1 ]; then
    psecs=$((duration < 10 ? duration : 10))
    log "perf round: ${psecs}s, order-service sampled at 499 Hz with DWARF call graphs"
    perf record -F 499 --call-graph dwarf,8192 -p "$os_pid" -o "$work/perf.data" -- sleep "$psecs" \
        >"$work/perf.log" 2>&1 &
    perf_pid=$!
    aux_pids+=("$perf_pid")
    run_wrk perf-order "$order_url/orders" "$psecs"
    total_wrk_requests=$((total_wrk_requests + $(field requests "$R")))
    wait "$perf_pid" || true
    log "perf round: $(field rps "$R") req/s under perf"
fi

# ---- delivery check ---------------------------------------------------------------

log "waiting for the outbox to drain"
drain_start=$(date +%s.%N)
wait_outbox_drained "$order_url"
drain_s=$(awk -v a="$drain_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
on_broker=$(broker_count)
non201=$({ curl -sf "$order_url/metrics" || true; } |
    awk '/^http_requests_total\{route="\/orders",code="/ && !/code="201"/ {n += $2} END {print n + 0}')
log_errors=$(grep -c '"level":"error"' "$work/order.log" || true)
log_warns=$(grep -c '"level":"warn"' "$work/order.log" || true)

read -r rss_max_kb hwm_kb rss_now_kb <"$work/rss" || { rss_max_kb=0 hwm_kb=0 rss_now_kb=0; }
peer_created=0 peer_failed=0 peer_invalid=0
if [ $do_peer -eq 1 ]; then
    peer_created=$(peer_stat created) peer_failed=$(peer_stat failed) peer_invalid=$(peer_stat invalid)
    read -r p_rss_max_kb p_hwm_kb p_rss_now_kb <"$work/peer-rss" || { p_rss_max_kb=0 p_hwm_kb=0 p_rss_now_kb=0; }
fi
redis_info=$(rcli INFO memory)
redis_mem() { awk -F: -v k="$1" '$1 == k {printf "%.1f", $2 / 1048576}' <<<"$redis_info"; }

# ---- summary ----------------------------------------------------------------------

row() { # row LABEL RESULT-LINE
    printf '%-14s %10.0f %8s %8s %8s %8s %8s %7s %6s\n' "$1" "$(field rps "$2")" \
        "$(field p50_ms "$2")" "$(field p90_ms "$2")" "$(field p99_ms "$2")" \
        "$(field p999_ms "$2")" "$(field max_ms "$2")" "$(field non2xx "$2")" "$(field errors "$2")"
}

echo
echo "== intake benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ): wrk -t$wrk_threads -c$conns -d${duration}s, $rounds interleaved rounds =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root")"
echo "binaries: $bindir; order-service HTTP_THREADS=$http_threads HTTP_EVENT_LOOP=$event_loop; bare pool $bare_threads; broker $partitions partitions"
echo
printf '%-14s %10s %8s %8s %8s %8s %8s %7s %6s\n' server req/s p50_ms p90_ms p99_ms p99.9_ms max_ms non2xx sockerr
for ((n = 0; n < rounds; n++)); do
    row "order #$((n + 1))" "${o_res[$n]}"
    [ $do_peer -eq 0 ] || row "peer  #$((n + 1))" "${p_res[$n]}"
    [ $do_bare -eq 0 ] || row "bare  #$((n + 1))" "${b_res[$n]}"
done
o_med=$(medians "${o_res[@]}")
row "order median" "$o_med"
p_rps=""
if [ $do_peer -eq 1 ]; then
    p_med=$(medians "${p_res[@]}")
    row "peer median" "$p_med"
    p_rps=$(field rps "$p_med")
fi
b_rps=""
if [ $do_bare -eq 1 ]; then
    b_med=$(medians "${b_res[@]}")
    row "bare median" "$b_med"
    b_rps=$(field rps "$b_med")
fi
echo
o_rps=$(field rps "$o_med") o_p99=$(field p99_ms "$o_med")
if [ $do_bare -eq 1 ]; then
    awk -v o="$o_rps" -v b="$b_rps" -v op="$(field p50_ms "$o_med")" -v bp="$(field p50_ms "$b_med")" \
        'BEGIN {printf "order / bare throughput: %.3f (bare is %.2fx faster); p50 %.3f vs %.3f ms\n", o / b, b / o, op, bp}'
fi
if [ $do_peer -eq 1 ]; then
    awk -v o="$o_rps" -v p="$p_rps" -v op="$(field p99_ms "$o_med")" -v pp="$(field p99_ms "$p_med")" \
        'BEGIN {printf "order / peer throughput: %.2f; p99 %.3f vs %.3f ms\n", o / p, op, pp}'
    echo "peer: CPU per order (µs, rounds) node ${p_cpu[*]}, $(broker_name) ${p_broker_cpu[*]}; memory VmHWM $(mb "$p_hwm_kb") MB, peak VmRSS sampled $(mb "$p_rss_max_kb") MB, VmRSS at end $(mb "$p_rss_now_kb") MB"
    echo "peer delivery: 201 answered $peer_created (wrk counted $peer_wrk_requests + 1 smoke), failed sends $peer_failed, invalid $peer_invalid"
fi
echo "CPU per order (µs, rounds): order-service ${o_cpu[*]}; redis-server ${redis_cpu[*]}; $(broker_name) ${broker_cpu[*]}"
echo "order-service memory: VmHWM $(mb "$hwm_kb") MB, peak VmRSS sampled $(mb "$rss_max_kb") MB, VmRSS at end $(mb "$rss_now_kb") MB"
echo "redis: used_memory $(redis_mem used_memory) MB (peak $(redis_mem used_memory_peak) MB, rss $(redis_mem used_memory_rss) MB) for $created stored orders"
echo "delivery: 201 answered $created (wrk counted $total_wrk_requests + 1 smoke), published $published, on the broker $on_broker$([ $do_peer -eq 0 ] || echo " (with the peer's $peer_created)"), outbox XLEN $xlen, drained in ${drain_s}s"
echo "order-service: other /orders statuses $non201; log lines error $log_errors, warn $log_warns"

status=0
[ $drained -eq 1 ] || { echo "CHECK FAILED: the outbox did not drain within 30 s"; status=3; }
[ "$on_broker" -ge $((created + peer_created)) ] ||
    { echo "CHECK FAILED: the broker holds $on_broker order-created events for $created + $peer_created (peer) orders"; status=3; }
[ "$created" -ge $((total_wrk_requests + 1)) ] || { echo "CHECK FAILED: fewer 201s ($created) than wrk completions"; status=3; }
[ "$non201" -eq 0 ] || { echo "CHECK FAILED: order-service answered $non201 non-201 statuses on /orders"; status=3; }
if [ $do_peer -eq 1 ]; then
    [ "$peer_created" -ge $((peer_wrk_requests + 1)) ] ||
        { echo "CHECK FAILED: fewer peer 201s ($peer_created) than wrk completions"; status=3; }
    [ "$peer_failed" -eq 0 ] && [ "$peer_invalid" -eq 0 ] ||
        { echo "CHECK FAILED: the peer answered $peer_failed failed sends and $peer_invalid invalid orders"; status=3; }
fi
for l in "${o_res[@]}" ${p_res[@]+"${p_res[@]}"}; do
    if [ "$(field non2xx "$l")" != 0 ] || [ "$(field errors "$l")" != 0 ]; then
        echo "CHECK FAILED: non-2xx or socket errors in a round: $l"
        status=3
    fi
done

echo
t1=$(awk -v v="$o_rps" 'BEGIN {print (v >= 16000) ? "met" : "MISSED"}')
t2=$(awk -v v="$o_p99" 'BEGIN {print (v < 10) ? "met" : "MISSED"}')
t3=$(awk -v v="$hwm_kb" 'BEGIN {print (v < 30 * 1024) ? "met" : "MISSED"}')
echo "target >= 16,000 orders/s:   $t1 ($o_rps)"
echo "target p99 < 10 ms:          $t2 ($o_p99 ms)"
echo "target RSS < 30 MB:          $t3 (VmHWM $(mb "$hwm_kb") MB)"
[ $status -ne 0 ] || [ "$t1$t2$t3" = metmetmet ] || status=1
peer_summary=""
if [ $do_peer -eq 1 ]; then
    ratio=$(awk -v o="$o_rps" -v p="$p_rps" 'BEGIN {printf "%.2f", o / p}')
    t4=$(awk -v v="$ratio" 'BEGIN {print (v >= 10) ? "met" : "MISSED"}')
    t5=$(awk -v v="$o_p99" 'BEGIN {print (v <= 5) ? "met" : "MISSED"}')
    t6=$(awk -v v="$hwm_kb" 'BEGIN {print (v <= 30 * 1024) ? "met" : "MISSED"}')
    echo "issue 13: order >= 10x peer:  $t4 ($ratio x: $o_rps against $p_rps orders/s)"
    echo "issue 13: p99 <= 5 ms:        $t5 ($o_p99 ms)"
    echo "issue 13: RSS <= 30 MB:       $t6 (VmHWM $(mb "$hwm_kb") MB)"
    [ $status -ne 0 ] || [ "$t4$t5$t6" = metmetmet ] || status=1
    peer_summary="peer_rps=$p_rps peer_p50_ms=$(field p50_ms "$p_med") peer_p99_ms=$(field p99_ms "$p_med") peer_hwm_kb=$p_hwm_kb order_peer_ratio=$ratio "
fi
echo "SUMMARY http_threads=$http_threads order_rps=$o_rps order_p50_ms=$(field p50_ms "$o_med") order_p99_ms=$o_p99 order_p999_ms=$(field p999_ms "$o_med") bare_rps=$b_rps ${peer_summary}hwm_kb=$hwm_kb cpu_us_per_order=$(printf '%s\n' "${o_cpu[@]}" | median) created=$created published=$published on_broker=$on_broker status=$status"

if [ $do_perf -eq 1 ] && [ -s "$work/perf.data" ]; then
    perf_top() { # perf_top LINES REPORT-OPTIONS...
        local n=$1
        shift
        perf report -i "$work/perf.data" -g none --stdio "$@" 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n "$n" || true
    }
    echo
    echo "== perf: order-service under load, self time by symbol (top 30) =="
    perf_top 30 --no-children --sort symbol
    echo "== perf: inclusive (self + callees) by symbol (top 40) =="
    perf_top 40 --children --sort symbol
    echo "== perf: by thread name =="
    perf_top 10 --no-children --sort comm
    echo "== perf: by shared object =="
    perf_top 12 --no-children --sort dso
fi

# Stop order-service here, to report how it exits (cleanup stops the rest).
os_rc=0
stop_pid "$os_pid" || os_rc=$?
forget_pid "$os_pid"
if [ "$os_rc" -ne 0 ]; then
    echo "order-service exited with status $os_rc at shutdown"
    [ $status -ne 0 ] || status=3
fi
exit $status
