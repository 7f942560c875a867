#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Where order-service's kernel time per order goes: system calls by kind
# and context switches per POST /orders, and each thread's CPU and
# voluntary switches, over one wrk run after a warm-up.
#
# What it does, every process on 127.0.0.1 and free ports: starts
# redis-server, kafka-dev-broker and order-service (as intake.sh), warms up
# 3 s, then counts over a wrk -t1 -cCONNS run of WINDOW seconds (perf stat
# attached before wrk starts and ending with it):
#   - per thread, from /proc/PID/task/*: CPU ticks (user + system) and
#     voluntary / involuntary context switches, summed by thread name;
#   - with --perf, system calls by kind and context switches (perf stat on
#     the syscall tracepoints). Tracing slows order-service several times:
#     read the counts per order, not the throughput or the CPU of that run.
# The orders are the difference of http_requests_total 201 before and after
# (wrk's requests). Exit status: 0 done, 2 usage, 3 the run failed.
set -euo pipefail

usage() {
    cat <<EOF2
usage: bench/syscalls_intake.sh [options] [VAR=value ...]
  -d SECONDS      the counted wrk run (default 5)
  -c CONNECTIONS  wrk connections (default 32)
  --perf          also system calls by kind (perf stat, slows the run)
  --release | --debug | --bin DIR   as in intake.sh
  VAR=value       extra settings of order-service (HTTP_THREADS=4 HTTP_EVENT_LOOP=poll)
EOF2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=syscalls

win=5 conns=32 wrk_threads=1 bindir="" do_perf=0 keep=0 settings=()
while [ $# -gt 0 ]; do
    case "$1" in
    -d) win=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    --perf) do_perf=1; shift ;;
    --release) bindir=$root/build-release/bin; shift ;;
    --debug) bindir=$root/build/bin; shift ;;
    --bin) bindir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *=*) settings+=("$1"); shift ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$win" "$conns"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "syscalls_intake.sh: '$v' is not a positive number" >&2; exit 2; }
done
bindir=$(pick_bindir "$root" "$bindir")
[ -x "$bindir/order-service" ] || { echo "syscalls_intake.sh: $bindir/order-service not found" >&2; exit 2; }
[ $do_perf -eq 0 ] || command -v perf >/dev/null || { echo "syscalls_intake.sh: perf not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/syscalls.XXXXXX)
lua=$here/post_order.lua
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

start_redis
start_broker "$bindir" 16
start_order order "$bindir" 0 ${settings[@]+"${settings[@]}"}
pid=$os_pid
log "order-service $os_url (pid $pid) ${settings[*]:-}"

# snap: one line per thread: tid name ticks voluntary involuntary
snap() {
    local t
    for t in /proc/"$pid"/task/*; do
        printf '%s %s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" \
            "$(awk '{print $14 + $15}' "$t/stat")" \
            "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t/status")"
    done
}
created() { metric "$os_url" 'http_requests_total{route="/orders",code="201"}'; }

wrk -t1 -c"$conns" -d3s -s "$lua" "$os_url/orders" >/dev/null 2>&1 # warm-up
c0=$(created)
snap >"$work/s0"
cpu0=$(cpu_s "$pid") r0=$(cpu_s "$redis_pid")
measured=(wrk -t1 -c"$conns" -d"${win}s" --latency -s "$lua" "$os_url/orders")
if [ $do_perf -eq 1 ]; then
    perf stat -x, -o "$work/perf.txt" -e raw_syscalls:sys_enter -e 'syscalls:sys_enter_*' \
        -e context-switches -p "$pid" -- "${measured[@]}" >"$work/wrk.txt" 2>&1 ||
        die "perf stat or wrk failed: $(tail -n3 "$work/wrk.txt")"
else
    "${measured[@]}" >"$work/wrk.txt" 2>&1 || die "wrk failed: $(tail -n3 "$work/wrk.txt")"
fi
snap >"$work/s1"
cpu1=$(cpu_s "$pid") r1=$(cpu_s "$redis_pid")
c1=$(created)
n=$((c1 - c0))
[ "$n" -gt 0 ] || die "no order answered 201 in the run"

echo "== syscalls_intake $(date -u +%Y-%m-%dT%H:%M:%SZ): wrk -t1 -c$conns, a ${win} s run${settings[*]:+, ${settings[*]}} =="
echo "machine: $(machine_line); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "source: $(source_line "$root"); binaries: $bindir"
echo "orders: $n ($((n / win))/s); CPU µs per order: order-service $(us_per "$cpu0" "$cpu1" "$n"), redis-server $(us_per "$r0" "$r1" "$n")"
grep '^RESULT' "$work/wrk.txt" || true
if [ $do_perf -eq 1 ]; then
    echo "-- per order, by kind (perf stat; the run is slowed by it) --"
    awk -F, -v n="$n" '$1 + 0 > 0 {sub(/^syscalls:sys_enter_/, "", $3); sub(/^raw_syscalls:sys_enter$/, "all system calls", $3); printf "%8.2f  %s\n", $1 / n, $3}' \
        "$work/perf.txt" | sort -rn
fi
echo "-- per thread name: threads, CPU µs per order, voluntary and involuntary switches per order --"
join <(sort "$work/s0") <(sort "$work/s1") | awk -v n="$n" -v hz="$(getconf CLK_TCK)" '
    {k = $2; c[k] += $7 - $3; v[k] += $8 - $4; iv[k] += $9 - $5; m[k]++}
    END {for (k in c) printf "%-16s x%-3d %6.1f µs  vol %.3f  invol %.3f\n", k, m[k], c[k] / hz * 1e6 / n, v[k] / n, iv[k] / n}' |
    sort -k3 -rn
