#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Does the cost grow linearly? Intake throughput and latency (wrk -t1 -c32,
# POST /orders with the durable outbox) as the order topics get 1, 2, 4 and
# 8 partitions, and as Redis holds 1k, 10k and 100k outstanding (PENDING)
# orders; with --e2e also the saga's end-to-end latency at a fixed rate
# across the partition counts (bench/e2e_latency.sh -p P).
#
# Each point is a fresh stack (redis-server, kafka-dev-broker with P
# partitions, order-service), every process on 127.0.0.1 and free ports,
# stopped by PID before the next point. The outstanding orders are piped
# into Redis before order-service starts (redis-cli --pipe, RESP), each a
# whole order:<id> hash as order-service writes it, status PENDING. Each
# point: a warm-up, then ROUNDS wrk rounds; the median is reported, and
# the ratio of every point to the first of its series.
#
# Usage: bench/scale.sh [-d SECONDS] [-r ROUNDS] [-w WARMUP] [-P "1 2 4 8"]
#                       [-N "0 1000 10000 100000"] [--e2e] [--e2e-rate R]
#                       [--bin DIR] [--keep]
# Exit status: 0 done, 2 usage, 3 the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=scale

duration=5 rounds=2 warmup=2 conns=32 wrk_threads=1 bindir="" keep=0
parts="1 2 4 8" preloads="0 1000 10000 100000" preload_parts=8 do_e2e=0 e2e_rate=1000
while [ $# -gt 0 ]; do
    case "$1" in
    -d) duration=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -w) warmup=$2; shift 2 ;;
    -P) parts=$2; shift 2 ;;
    -N) preloads=$2; shift 2 ;;
    --e2e) do_e2e=1; shift ;;
    --e2e-rate) e2e_rate=$2; shift 2 ;;
    --bin) bindir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in "$duration" "$rounds" "$warmup" "$e2e_rate" $parts $preloads; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "scale.sh: '$v' is not a number" >&2; exit 2; }
done
bindir=$(pick_bindir "$root" "$bindir")
[ -x "$bindir/order-service" ] || { echo "scale.sh: $bindir/order-service not found; build first" >&2; exit 2; }
work=$(mktemp -d /tmp/scale.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Stops every process of the point, newest first.
stop_all() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}" || true; done
    pids=()
    # start_broker reads the first line of broker.out: never the last point's.
    rm -f "$work/broker.out"
}

# preload N: N PENDING orders into Redis db 0, in RESP through redis-cli --pipe.
preload() {
    [ "$1" -gt 0 ] || return 0
    python3 - "$1" >"$work/preload.resp" <<'PY'
import sys, uuid
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
items = '[{"productId":"p1","quantity":2,"price":50}]'
for _ in range(int(sys.argv[1])):
    oid = str(uuid.uuid4())
    cmd("HSET", "order:" + oid, "userId", "u1", "currency", "USD", "total", "100", "items", items,
        "createdAt", "2026-01-01T00:00:00.000Z", "updatedAt", "2026-01-01T00:00:00.000Z",
        "status", "PENDING", "correlationId", str(uuid.uuid4()))
PY
    rcli --pipe <"$work/preload.resp" >"$work/preload.out" || die "redis-cli --pipe: $(tail -n2 "$work/preload.out")"
    [ "$(rcli DBSIZE)" -ge "$1" ] || die "preload: DBSIZE $(rcli DBSIZE) < $1"
}

# point LABEL PARTITIONS PRELOAD: one fresh stack, warm-up, rounds; appends
# "LABEL rps p50 p99 p999 used_memory_MB" to $work/points.
point() {
    local label=$1 p=$2 n=$3 res=() k
    start_redis
    preload "$n"
    start_broker "$bindir" "$p"
    start_order "order-$label" "$bindir" 0
    run_wrk "warm-$label" "$os_url/orders" "$warmup"
    for ((k = 1; k <= rounds; k++)); do
        run_wrk "$label-$k" "$os_url/orders" "$duration"
        [ "$(field non2xx "$R")" = 0 ] && [ "$(field errors "$R")" = 0 ] || die "$label: errors: $R"
        res+=("$R")
    done
    R=$(medians "${res[@]}")
    wait_outbox_drained "$os_url"
    [ "$drained" = 1 ] || die "$label: the outbox did not drain (XLEN $xlen, published $published of $created)"
    mem=$(rcli INFO memory | awk -F: '$1 == "used_memory" {printf "%.1f", $2 / 1048576}')
    log "$label: $(field rps "$R") orders/s, p99 $(field p99_ms "$R") ms (Redis $mem MB)"
    echo "$label $(field rps "$R") $(field p50_ms "$R") $(field p99_ms "$R") $(field p999_ms "$R") $mem" >>"$work/points"
    stop_all
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(machine_line); load $load0"
: >"$work/points"
for p in $parts; do point "partitions=$p" "$p" 0; done
for n in $preloads; do point "outstanding=$n" "$preload_parts" "$n"; done

e2e_lines=()
if [ $do_e2e -eq 1 ]; then
    for p in $parts; do
        log "end to end at $e2e_rate orders/s, $p partitions"
        "$here/e2e_latency.sh" -p "$p" -r "$e2e_rate" -d 10 --bin "$bindir" >"$work/e2e-$p.txt" 2>"$work/e2e-$p.err" || true
        e2e_lines+=("partitions=$p $(grep -h '^load:\|^POST -> payment' "$work/e2e-$p.txt" | tr '\n' ' ')")
    done
fi

echo
echo "== scale $(date -u +%Y-%m-%dT%H:%M:%SZ): wrk -t$wrk_threads -c$conns, ${rounds}x${duration}s per point (median), warm-up ${warmup}s =="
echo "machine: $(machine_line); load before $load0, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "source: $(source_line "$root"); binaries: $bindir; outstanding series on $preload_parts partitions"
printf '%-20s %10s %8s %8s %8s %8s %10s\n' point orders/s ratio p50_ms p99_ms p99.9_ms redis_MB
awk '{split($1, a, "="); s = a[1]; if (!(s in base)) base[s] = $2
      printf "%-20s %10.0f %8.2f %8s %8s %8s %10s\n", $1, $2, $2 / base[s], $3, $4, $5, $6}' "$work/points"
for l in ${e2e_lines[@]+"${e2e_lines[@]}"}; do echo "e2e $l"; done
