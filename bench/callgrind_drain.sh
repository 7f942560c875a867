#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Instructions per event: payment-service under valgrind --tool=callgrind
# draining a fixed number of OrderCreated events, counted the same way every
# time (instruction counts do not depend on how busy the machine is).
#
# What it does, every process on 127.0.0.1 and free ports:
#   1. builds the release preset (unless --bin or --no-build), starts
#      redis-server and kafka-dev-broker, produces WARMUP OrderCreated
#      events (bench/order_created_events.py, kcat);
#   2. starts payment-service under callgrind (--collect-systime=usec:
#      system calls counted too) with the drain's client settings
#      (bench/consumer_drain.sh) and waits until it handled the warm-up;
#   3. zeroes the counters (callgrind_control -z), waits IDLE seconds and
#      dumps: the background cost per second of an idle payment-service;
#   4. zeroes again, produces EVENTS more with kcat (a backlog forms at
#      once: under valgrind the consumer is some 50 times slower than kcat),
#      waits until Redis holds a done-mark for every event (counted in Redis
#      by a script, so the polling costs payment-service nothing) and dumps;
#   5. checks every event was decided, and prints the instructions (Ir) and
#      system calls per event, the turns (batches) and their mean size, and
#      the top functions by inclusive and self Ir (callgrind_annotate).
#
# Not counted: the kernel's work inside system calls (their number is),
# Redis, the broker, kcat. Exit status: 0 done; 2 usage; 3 the run failed.
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/callgrind_drain.sh [options]
  -n EVENTS       measured OrderCreated events (default 20000)
  -w WARMUP       warm-up events before the counters are zeroed (default 1000)
  -b BATCH        CONSUMER_BATCH_SIZE (default 500)
  -i SECONDS      idle window measured for the background cost (default 5)
  -t N            functions listed, by inclusive and by self Ir (default 20)
  -p PARTITIONS   partitions per topic on the broker (default 16)
  --exactly-once  EXACTLY_ONCE=true (the mock keeps no transaction state:
                  this counts the client side of the transactions only)
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
me=callgrind-drain

events=20000 warm=1000 batch=500 idle=5 top=20 partitions=16 eos=false bindir="" build=1 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
    -n) events=$2; shift 2 ;;
    -w) warm=$2; shift 2 ;;
    -b) batch=$2; shift 2 ;;
    -i) idle=$2; shift 2 ;;
    -t) top=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    --exactly-once) eos=true; shift ;;
    --bin) bindir=$2 build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$events" "$warm" "$batch" "$idle" "$top" "$partitions"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "callgrind_drain.sh: '$v' is not a number" >&2; exit 2; }
done
if [ "$events" -lt 1 ] || [ "$warm" -lt 1 ] || [ "$batch" -lt 1 ] || [ "$idle" -lt 1 ]; then
    echo "callgrind_drain.sh: -n, -w, -b and -i must be >= 1" >&2
    exit 2
fi
cg_prepare callgrind_drain.sh "$build" payment-service kafka-dev-broker

work=$(mktemp -d /tmp/callgrind-drain.XXXXXX)
pids=()
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

log "machine: $(machine_line)"
log "binaries: $bindir; work directory: $work"
start_redis
start_broker "$bindir" "$partitions"

produce() { # produce FILE
    kcat -b "$brokers" -P -t order-created -K $'\x1f' -l "$1" \
        -X linger.ms=20 -X batch.num.messages=10000 -X queue.buffering.max.messages=1000000 ||
        die "kcat could not produce $1"
}
"$here/order_created_events.py" "$warm" >"$work/warm.events"
"$here/order_created_events.py" "$events" >"$work/measured.events"
produce "$work/warm.events"

# The drain's client settings; a longer session under valgrind.
cat >"$work/client.properties" <<PROPS
consumer.queued.min.messages=1000000
consumer.fetch.wait.max.ms=10
consumer.session.timeout.ms=30000
consumer.heartbeat.interval.ms=1000
PROPS
env KAFKA_BROKERS="$brokers" REDIS_URL="redis://127.0.0.1:$redis_port/0" ADMIN_PORT=0 \
    BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info INSTANCE_ID=callgrind KAFKA_CONFIG_FILE="$work/client.properties" \
    CONSUMER_BATCH_SIZE="$batch" EXACTLY_ONCE="$eos" \
    valgrind --tool=callgrind --collect-systime=usec "--callgrind-out-file=$work/callgrind.out" \
    --log-file="$work/valgrind.log" "$bindir/payment-service" >"$work/payment.log" 2>&1 &
pay_pid=$!
pids+=("$pay_pid")
log "payment-service under callgrind (pid $pay_pid)"

# done_marks: the idempotency records marked done, counted inside Redis.
done_marks() {
    rcli EVAL "local n, cur = 0, '0'
        repeat
            local r = redis.call('SCAN', cur, 'MATCH', 'idem:*', 'COUNT', 1000)
            cur = r[1]
            for _, k in ipairs(r[2]) do if redis.call('GET', k) == 'done' then n = n + 1 end end
        until cur == '0'
        return n" 0
}
# wait_done N WHAT: waits up to 300 s for N done-marks.
wait_done() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(done_marks)" -ge "$1" ] && return 0
        alive "$pay_pid" || die "payment-service died: $(tail -n3 "$work/payment.log")"
        sleep 0.5
    done
    die "$2: $(done_marks) of $1 events handled after 300 s"
}
dump() { cg_dump "$pay_pid" "$1"; } # dump NAME: sets F to the new file
zero() { cg_zero "$pay_pid"; }
event() { cg_event "$@"; }
# calls FUNCTION FILE: how many times FUNCTION was called in FILE.
calls() {
    awk -v want="$1" '
        /^c?fn=\(/ { id = $1; sub(/^c?fn=/, "", id); name = $2
                     if (name != "") names[id] = name; else name = names[id]
                     if ($1 ~ /^cfn/) callee = name }
        /^calls=/ { split($1, a, "="); if (callee == want) n += a[2] }
        END { print n + 0 }' "$2"
}

wait_done "$warm" "the warm-up"
log "warm-up: $warm events handled"

zero
t0=$(date +%s.%N)
sleep "$idle"
dump idle
idle_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
idle_file=$F

zero
t0=$(date +%s.%N)
produce "$work/measured.events"
wait_done $((warm + events)) "the measured events"
dump measured
run_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
run_file=$F

total=$((warm + events))
published=$(($(broker_count payment-processed) + $(broker_count payment-failed)))
stored=$(rcli --scan --pattern 'payment:decision:*' | wc -l)
status=0
[ "$stored" -eq "$total" ] || { echo "CHECK FAILED: $stored decisions stored for $total events"; status=3; }
[ "$published" -ge "$total" ] || { echo "CHECK FAILED: $published decisions published for $total events"; status=3; }

ir=$(event Ir "$run_file") sc=$(event sysCount "$run_file")
vdso=$(cg_vdso "$run_file")
turns=$(calls eb__turn_decide "$run_file")
turns=$((turns / 2)) # decided twice a turn: before and after the dead letters
idle_ir=$(event Ir "$idle_file") idle_sc=$(event sysCount "$idle_file")

echo
echo "== callgrind drain $(date -u +%Y-%m-%dT%H:%M:%SZ): $events OrderCreated after $warm warm-up, batch $batch, exactly-once $eos =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root")"
echo "binaries: $bindir; valgrind $(valgrind --version | sed 's/valgrind-//'); broker kafka-dev-broker, $partitions partitions"
echo "delivery: $stored decisions stored, $published published (warm-up included)"
echo
awk -v ir="$ir" -v sc="$sc" -v n="$events" -v s="$run_s" -v vdso="$vdso" -v turns="$turns" \
    -v iir="$idle_ir" -v isc="$idle_sc" -v is="$idle_s" 'BEGIN {
    printf "measured: %.0f Ir and %d system calls in %.1f s, %d turns (%.0f events a turn)\n", ir, sc, s, turns, turns ? n / turns : 0
    printf "Ir per event:           %.0f\n", ir / n
    printf "syscalls per event:     %.2f, of which %.2f clock_gettime/gettimeofday/time (vDSO natively): %.2f real\n", sc / n, vdso / n, (sc - vdso) / n
    printf "idle background:        %.0f Ir/s, %.1f syscalls/s (%.1f s window)\n", iir / is, isc / is, is
    bg = iir / is * s
    printf "  of which over the run: %.0f Ir per event (%.1f %%)\n", bg / n, 100 * bg / ir
}'

# In a dump taken while threads run, the functions on a thread's stack
# (clone, start_thread, main and below) show the thread's whole cost as
# their own: left out of the self and system call lists.
stack=':(clone|start_thread|main|\(below main\)|__libc_start_main[^ ]*|app_daemon_main) |ld-linux'
# annotate EVENT MODE [SKIP-REGEX]: the top functions by EVENT (Ir,
# sysCount; MODE yes: inclusive, no: self), each with its share and its
# count per event.
annotate() { cg_annotate "$run_file" "$1" "$2" "$events" event "$top" "${3:-}"; }
echo
echo "== top $top functions by inclusive Ir =="
annotate Ir yes
echo
echo "== top $top functions by self Ir =="
annotate Ir no "$stack"
echo
echo "== system calls by function (clock_gettime, gettimeofday and time are vDSO natively) =="
annotate sysCount no "$stack"
echo
echo "SUMMARY events=$events ir=$ir ir_per_event=$(awk -v a="$ir" -v n="$events" 'BEGIN {printf "%.0f", a / n}') syscalls_per_event=$(awk -v a="$sc" -v v="$vdso" -v n="$events" 'BEGIN {printf "%.2f", (a - v) / n}') turns=$turns status=$status"

rc=0
stop_pid "$pay_pid" || rc=$?
forget_pid "$pay_pid"
[ "$rc" -eq 0 ] || { echo "payment-service exited with status $rc at shutdown"; [ $status -ne 0 ] || status=3; }
exit $status
