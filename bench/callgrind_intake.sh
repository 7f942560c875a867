#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Instructions per order: order-service under valgrind --tool=callgrind
# answering a fixed number of POST /orders, counted the same way every time
# (instruction counts do not depend on how busy the machine is; timings do).
#
# What it does, every process on 127.0.0.1 and free ports:
#   1. builds the release preset (cmake --preset release, unless --bin or
#      --no-build), starts redis-server, kafka-dev-broker and order-service
#      under callgrind (--collect-systime=usec: system calls counted too);
#   2. warms it up with WARMUP orders (the smoke order of lib.sh first);
#   3. zeroes the counters (callgrind_control -z), waits IDLE seconds with no
#      request and dumps (callgrind_control -d): the background cost per
#      second of an idle order-service (librdkafka's timers, the relay's and
#      the status consumer's polls);
#   4. zeroes again, sends ORDERS POST /orders with bench/post_orders.py over
#      CONNS keep-alive connections, waits until the outbox is empty (XLEN
#      orders:outbox == 0, polled in Redis, not through order-service, so the
#      polling costs it nothing) and dumps. Everything order-service's process
#      did in between is in that dump: the HTTP workers, the outbox relay
#      publishing every event and deleting it after the broker's ack,
#      librdkafka's threads, the status consumer;
#   5. checks that every order was answered 201 and reached the broker, and
#      prints the instructions (Ir) and system calls per order, the idle
#      background over the same time, and the top functions by inclusive and
#      by self Ir (callgrind_annotate).
#
# Not counted: the kernel's work inside system calls (their number is
# counted), Redis, the broker, the client. Read memset and memcpy with care:
# glibc clears or copies more than 2 KiB with rep stosb / rep movsb, which
# valgrind counts as one instruction per byte, though the CPU does tens of
# bytes a cycle. Exit status: 0 done; 2 usage;
# 3 the run failed (a process died, a non-201, an event missing).
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/callgrind_intake.sh [options]
  -n ORDERS       measured POST /orders (default 2000)
  -w WARMUP       warm-up orders before the counters are zeroed (default 50)
  -c CONNS        keep-alive connections of the client (default 8)
  -i SECONDS      idle window measured for the background cost (default 5)
  -t N            functions listed, by inclusive and by self Ir (default 15)
  -p PARTITIONS   partitions per topic on the broker (default 16)
  --bin DIR       use the binaries in DIR (no build)
  --no-build      use build-release/bin as it is
  --keep          keep the work directory (callgrind.out files, logs)
  -h, --help      this help
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
me=callgrind

orders=2000 warm=50 conns=8 idle=5 top=15 partitions=16 bindir="" build=1 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
    -n) orders=$2; shift 2 ;;
    -w) warm=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -i) idle=$2; shift 2 ;;
    -t) top=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    --bin) bindir=$2 build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$orders" "$warm" "$conns" "$idle" "$top" "$partitions"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "callgrind_intake.sh: '$v' is not a number" >&2; exit 2; }
done
if [ "$orders" -lt 1 ] || [ "$conns" -lt 1 ] || [ "$idle" -lt 1 ]; then
    echo "callgrind_intake.sh: -n, -c and -i must be >= 1" >&2
    exit 2
fi
cg_prepare callgrind_intake.sh "$build" order-service kafka-dev-broker

work=$(mktemp -d /tmp/callgrind.XXXXXX)
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(machine_line)"
log "binaries: $bindir; work directory: $work"

start_redis
start_broker "$bindir" "$partitions"
order_wrapper=(valgrind --tool=callgrind --collect-systime=usec
    "--callgrind-out-file=$work/callgrind.out" --log-file="$work/valgrind.log")
start_order order "$bindir" 0
log "order-service under callgrind $os_url (pid $os_pid)"

post() { # post N NAME: N orders, dies unless every one is a 201
    "$here/post_orders.py" "$os_url" "$1" "$conns" >"$work/post-$2.txt" 2>&1 ||
        die "$2: not every order was answered 201: $(tail -n3 "$work/post-$2.txt")"
}
dump() { cg_dump "$os_pid" "$1"; } # dump NAME: sets F to the new file
zero() { cg_zero "$os_pid"; }
event() { cg_event "$@"; }

# wait_drained WHAT: waits up to 120 s for XLEN orders:outbox == 0.
wait_drained() {
    local i
    for ((i = 0; i < 1200; i++)); do
        [ "$(rcli XLEN orders:outbox)" = 0 ] && return 0
        alive "$os_pid" || die "order-service died: $(tail -n3 "$work/order.log")"
        sleep 0.1
    done
    die "the outbox did not drain within 120 s after the $1"
}

[ "$warm" -eq 0 ] || post "$warm" warmup
wait_drained warm-up # its relay work must not fall in the idle window
log "warm-up: $warm orders"

zero
t0=$(date +%s.%N)
sleep "$idle"
dump idle
idle_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
idle_file=$F

zero
t0=$(date +%s.%N)
post "$orders" measured
sent_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
wait_drained "measured orders"
dump measured
run_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
run_file=$F

# The checks read /metrics after the dump, so they are not counted.
expected=$((1 + warm + orders))
created=$(metric "$os_url" 'http_requests_total{route="/orders",code="201"}')
published=$(metric "$os_url" 'events_published_total{topic="order-created"}')
on_broker=$(broker_count)
status=0
[ "$created" -eq "$expected" ] || { echo "CHECK FAILED: $created orders answered 201, $expected sent"; status=3; }
[ "$published" -ge "$created" ] || { echo "CHECK FAILED: $published published for $created orders"; status=3; }
[ "$on_broker" -ge "$created" ] || { echo "CHECK FAILED: $on_broker on the broker for $created orders"; status=3; }

ir=$(event Ir "$run_file") sc=$(event sysCount "$run_file")
# Under valgrind clock_gettime, gettimeofday and time are system calls; in
# a native run the vDSO answers them without entering the kernel.
vdso=$(cg_vdso "$run_file")
idle_ir=$(event Ir "$idle_file") idle_sc=$(event sysCount "$idle_file")

echo
echo "== callgrind intake $(date -u +%Y-%m-%dT%H:%M:%SZ): $orders POST /orders over $conns connections after $warm warm-up =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root")"
echo "binaries: $bindir; valgrind $(valgrind --version | sed 's/valgrind-//'); broker kafka-dev-broker, $partitions partitions"
echo "delivery: $created answered 201 (smoke + warm-up + measured), published $published, on the broker $on_broker"
echo
awk -v ir="$ir" -v sc="$sc" -v n="$orders" -v s="$run_s" -v sent="$sent_s" \
    -v iir="$idle_ir" -v isc="$idle_sc" -v is="$idle_s" -v vdso="$vdso" 'BEGIN {
    printf "measured: %.0f Ir and %d system calls in %.1f s (orders sent in %s s, outbox drained after)\n", ir, sc, s, sent
    printf "Ir per order:           %.0f\n", ir / n
    printf "syscalls per order:     %.1f, of which %.1f clock_gettime/gettimeofday/time (vDSO natively): %.1f real\n", sc / n, vdso / n, (sc - vdso) / n
    printf "idle background:        %.0f Ir/s, %.1f syscalls/s (%.1f s window)\n", iir / is, isc / is, is
    bg = iir / is * s
    printf "  of which over the run: %.0f Ir per order (%.1f %%), %.1f syscalls per order\n", bg / n, 100 * bg / ir, isc / is * s / n
    printf "Ir per order without the idle background: %.0f\n", (ir - bg) / n
}'
echo "The outbox relay runs in order-service's process: its work for these orders (read, publish,"
echo "ack, XACK+XDEL) and librdkafka's threads are inside the figure; the dump came after the outbox drained."

# annotate MODE [SKIP-REGEX]: the top functions by Ir (MODE yes: inclusive,
# no: self), each with its share and its Ir per order.
annotate() { cg_annotate "$run_file" Ir "$1" "$orders" order "$top" "${2:-}"; }
echo
echo "== top $top functions by inclusive Ir (self + callees; the threads' entry points first) =="
annotate yes
echo
echo "== top $top functions by self Ir =="
# In a dump taken while threads run, clone and start_thread carry their
# threads' whole cost as their own: left out here.
annotate no ':(clone|start_thread) '
echo
echo "== where: the request handler (on_access, in libmicrohttpd's workers), the threads of order-service =="
echo "(committer_main: the group commit's thread, writing the orders the handler queued;"
echo " the relay's cost per order depends on how many entries each XREADGROUP finds, so on timing;"
echo " the handler's does not: compare it between builds, and the total over several runs)"
callgrind_annotate --inclusive=yes --show=Ir --threshold=100 "$run_file" 2>/dev/null |
    awk -v total="$ir" -v per="$orders" '$1 ~ /^[0-9,]+$/ && $0 ~ /:(on_access|committer_main|relay_main|status_main|guard_main) / {
        v = $1; gsub(",", "", v); sub(/.*:/, "", $0); sub(/ .*/, "", $0)
        printf "%6.2f %%  %8.0f Ir/order  %s\n", 100 * v / total, v / per, $0 }'
echo "(the rest: libmicrohttpd's own work around the handler, librdkafka's threads)"
echo
echo "SUMMARY orders=$orders ir=$ir ir_per_order=$(awk -v a="$ir" -v n="$orders" 'BEGIN {printf "%.0f", a / n}') syscalls_per_order=$(awk -v a="$sc" -v v="$vdso" -v n="$orders" 'BEGIN {printf "%.1f", (a - v) / n}') idle_ir_per_s=$(awk -v a="$idle_ir" -v s="$idle_s" 'BEGIN {printf "%.0f", a / s}') status=$status"

os_rc=0
stop_pid "$os_pid" || os_rc=$?
forget_pid "$os_pid"
[ "$os_rc" -eq 0 ] || { echo "order-service exited with status $os_rc at shutdown"; [ $status -ne 0 ] || status=3; }
exit $status
