#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables shared with lib.sh
# Consumer throughput: one payment-service instance drains a backlog of
# OrderCreated events, idempotency on (every event claimed, decided, stored,
# published and marked done in Redis).
#
# Targets (issue 13): at least 60,000 events/s with Redis idempotency and
# 100,000 in exactly-once mode, for a backlog of 200,000. On the embedded
# broker the exactly-once figure measures the client side only: the mock
# accepts the transaction calls but keeps no transaction state
# (docs/mock-cluster.md).
#
# What it does, every process on 127.0.0.1 and free ports:
#   1. starts redis-server and kafka-dev-broker (--partitions P: the mock
#      keeps at most 5 MiB per partition, so 200,000 events of ~560 B need
#      more than 21 partitions);
#   2. produces N OrderCreated events (kcat, keyed by order id) and checks
#      the broker holds them all;
#   3. starts one payment-service and times it from its first consumed event
#      to the last (events_consumed_total on /metrics, sampled every 100 ms),
#      with its CPU, Redis' and the broker's, and its peak RSS;
#   4. checks every event was decided once: N decisions published, N stored;
#   5. stops everything it started (trap EXIT, by PID).
#
# Usage: bench/consumer_drain.sh [-n EVENTS] [-p PARTITIONS] [-b BATCH] [--bin DIR] [--broker dev|kafka] [--exactly-once] [--perf] [-X PROP=VALUE]... [--keep]
# -X adds a client property to the drain's client.properties (prefix
# consumer. or producer. for one client only), e.g. -X producer.linger.ms=5.
# --perf samples payment-service with perf record (cpu-clock, call graphs)
# during the drain and prints its top functions by self time.
# --exactly-once runs payment-service with EXACTLY_ONCE=true (a transaction
# per batch; meaningful on --broker kafka only). The published count then
# counts the committed records (a read_committed kcat), not offsets.
# Exit status: 0 target met, 1 missed, 3 the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

me=drain
events=200000 partitions=32 batch=500 bindir="" keep=0 eos=false perf=0 props=()
while [ $# -gt 0 ]; do
    case "$1" in
    -n) events=$2; shift 2 ;;
    -p) partitions=$2; shift 2 ;;
    -b) batch=$2; shift 2 ;;
    --bin) bindir=$2; shift 2 ;;
    --broker) bench_broker=$2; shift 2 ;;
    --exactly-once) eos=true; shift ;;
    --perf) perf=1; shift ;;
    -X) props+=("$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '3,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "consumer_drain.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
bindir=$(pick_bindir "$root" "$bindir")
work=$(mktemp -d /tmp/drain.XXXXXX)
pids=()
trap bench_cleanup EXIT

log "machine: $(machine_line)"
log "binaries: $bindir; work directory: $work"
start_redis
start_broker "$bindir" "$partitions"
log "redis 127.0.0.1:$redis_port, broker $brokers ($partitions partitions)"

# ---- the backlog ----------------------------------------------------------------------
log "writing $events OrderCreated events"
"$here/order_created_events.py" "$events" >"$work/events"
kcat -b "$brokers" -P -t order-created -K $'\x1f' -l "$work/events" \
    -X linger.ms=20 -X batch.num.messages=10000 -X queue.buffering.max.messages=1000000 ||
    die "kcat could not produce the backlog"
backlog=$(broker_count order-created)
[ "$backlog" -eq "$events" ] || die "the broker holds $backlog events, not $events"
log "backlog: $backlog events on order-created"

# ---- the drain ------------------------------------------------------------------------
# Client settings for draining a backlog: a deep local queue so fetching
# never stalls (bench/RESULTS.md), short fetch waits for the mock.
cat >"$work/client.properties" <<PROPS
consumer.queued.min.messages=1000000
consumer.fetch.wait.max.ms=10
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=1000
PROPS
for p in ${props[@]+"${props[@]}"}; do echo "$p" >>"$work/client.properties"; done
redis_cpu0=$(cpu_s "$redis_pid")
broker_cpu0=$(broker_cpu_s)
start_consumer payment "$bindir" payment-service KAFKA_CONFIG_FILE="$work/client.properties" \
    CONSUMER_BATCH_SIZE="$batch" EXACTLY_ONCE="$eos"
pay_pid=$c_pid pay_url=$c_url
start_rss_sampler "$pay_pid" "$work/rss"
perf_pid=""
if [ $perf -eq 1 ]; then
    perf record -q -e cpu-clock -F 1999 -g -p "$pay_pid" -o "$work/perf.data" 2>"$work/perf.err" &
    perf_pid=$!
    aux_pids+=("$perf_pid")
fi
consumed() { metric "$pay_url" 'events_consumed_total{topic="order-created",result="ok"}'; }

t_first="" n=0
deadline=$((SECONDS + 600))
while [ "$n" -lt "$events" ]; do
    [ $SECONDS -lt $deadline ] || die "the drain did not finish in 10 minutes ($n of $events)"
    alive "$pay_pid" || die "payment-service exited: $(tail -n3 "$work/payment.log")"
    n=$(consumed)
    if [ -z "$t_first" ] && [ "${n%.*}" -gt 0 ]; then
        t_first=$(date +%s.%N) n_first=$n
    fi
    n=${n%.*}
    sleep 0.1
done
t_last=$(date +%s.%N)
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
fi
pay_cpu=$(cpu_s "$pay_pid")
redis_cpu=$(awk -v a="$redis_cpu0" -v b="$(cpu_s "$redis_pid")" 'BEGIN {print b - a}')
broker_cpu=$(awk -v a="$broker_cpu0" -v b="$(broker_cpu_s)" 'BEGIN {print b - a}')
rate=$(awk -v n="$events" -v f="${n_first%.*}" -v a="$t_first" -v b="$t_last" \
    'BEGIN {printf "%.0f", (n - f) / (b - a)}')

# ---- checks ---------------------------------------------------------------------------
# A transactional topic's offsets include the commit markers, and its last
# offset may be one: count the committed records themselves there.
committed_count() {
    { kcat -b "$brokers" -C -t "$1" -o beginning -e -q -X isolation.level=read_committed \
        -f '.\n' 2>"$work/kcat.err" || true; } | wc -l
}
if [ "$eos" = true ]; then
    decisions() { echo $(($(committed_count payment-processed) + $(committed_count payment-failed))); }
else
    decisions() { echo $(($(broker_count payment-processed) + $(broker_count payment-failed))); }
fi
all_decided() { [ "$(decisions)" -ge "$events" ]; }
wait_for "the decisions on the broker" 300 all_decided
published=$(decisions)
stored=$(rcli --scan --pattern 'payment:decision:*' | wc -l)
dup=$(metric "$pay_url" 'events_consumed_total{topic="order-created",result="duplicate"}')
read -r _ hwm _ <"$work/rss"

echo
echo "== consumer drain $(date -u +%FT%TZ): $events OrderCreated, $partitions partitions, batch $batch, exactly-once $eos =="
echo "machine: $(machine_line)"
echo "source: $(source_line "$root")"
echo "drain: $(awk -v a="$t_first" -v b="$t_last" 'BEGIN {printf "%.2f", b - a}') s from the first event consumed to the last: $rate events/s"
echo "CPU per event (µs): payment-service $(us_per 0 "$pay_cpu" "$events"), redis-server $(us_per 0 "$redis_cpu" "$events"), $(broker_name) $(us_per 0 "$broker_cpu" "$events")"
echo "payment-service peak RSS: $(mb "$hwm") MB"
echo "decisions: $published published, $stored stored in Redis, duplicates skipped $dup"
if [ $perf -eq 1 ]; then
    echo "== perf: payment-service's top functions by self time (cpu-clock samples, whole process) =="
    perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -n 30
fi
status=0
[ "$published" -eq "$events" ] && [ "$stored" -eq "$events" ] || { echo "DECISIONS DO NOT MATCH"; status=3; }
target=60000
[ "$eos" = true ] && target=100000
if [ "$rate" -ge "$target" ]; then
    echo "target >= $target events/s: met ($rate)"
else
    echo "target >= $target events/s: MISSED ($rate)"
    [ $status -eq 0 ] && status=1
fi
echo "SUMMARY events=$events rate=$rate published=$published stored=$stored status=$status"
exit $status
