#!/usr/bin/env bash
# The suite's demo: everything a newcomer needs to see it work.
#
#   ./test-kafka.sh           run on the embedded broker (kafka-dev-broker)
#   ./test-kafka.sh --keep    leave everything running at the end (Ctrl-C stops it)
#
# It installs what is missing, builds, starts kafka-dev-broker and a
# redis-server on free ports, then order-service, two payment-service
# instances and notification-service, posts orders with curl (one above the
# payment limit), and shows each order going PENDING -> PAID / PAYMENT_FAILED,
# the notifications written, which payment instance handled which partition,
# a poison message landing in the dead-letter topic, and a dead letter
# replayed once its cause is fixed. Everything it started is stopped (by PID)
# when it ends.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

KEEP=0
for arg in "$@"; do
    case "$arg" in
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
    esac
done

if [ -t 1 ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" Y="" D="" N=""
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
info() { printf '    %s\n' "$*"; }
die() { printf '%sdemo failed: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

# ---- 1. dependencies and build -------------------------------------------------
step "Installing missing packages and building"
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" >/dev/null
BIN=$ROOT/build/bin

WORK=$(mktemp -d /tmp/eventbus-demo.XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    if [ ${#PIDS[@]} -gt 0 ]; then
        printf '\n%s==> Stopping everything the demo started%s\n' "$B" "$N"
        # Daemons first (reverse start order), the broker and Redis last.
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            kill -TERM "${PIDS[i]}" 2>/dev/null || true
            wait "${PIDS[i]}" 2>/dev/null || true
        done
    fi
    [ $rc -eq 0 ] && rm -rf "$WORK" || echo "    logs kept in $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for <seconds> <description> <command...>: polls until the command succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
        sleep 0.2
    done
}

logged_port() { grep -o "$2 on 127.0.0.1:[0-9]*" "$WORK/$1.log" | head -1 | cut -d: -f2; }

# ---- 2. infrastructure -------------------------------------------------------------
step "Starting Redis and the embedded Kafka broker (kafka-dev-broker)"
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_for 10 "redis" redis-cli -p "$REDIS_PORT" ping
info "redis-server          127.0.0.1:$REDIS_PORT (pid ${PIDS[-1]})"

"$BIN/kafka-dev-broker" --partitions 6 >"$WORK/broker.out" 2>"$WORK/broker.log" &
PIDS+=($!)
wait_for 10 "the broker's bootstrap line" test -s "$WORK/broker.out"
BROKERS=$(head -1 "$WORK/broker.out")
info "kafka-dev-broker      $BROKERS (pid ${PIDS[-1]}), topics with 6 partitions each"

# Client settings for the embedded broker: short session timeouts so a
# rebalance takes seconds, short fetch waits (../shared/notes/mock-cluster.md).
cat >"$WORK/client.properties" <<'PROPS'
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=1000
consumer.fetch.wait.max.ms=10
reconnect.backoff.max.ms=1000
PROPS
export KAFKA_BROKERS=$BROKERS KAFKA_CONFIG_FILE=$WORK/client.properties
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 BIND_ADDRESS=127.0.0.1

# ---- 3. services -------------------------------------------------------------------
step "Starting order-service, two payment-service instances and notification-service"
HTTP_PORT=0 INSTANCE_ID=order-1 "$BIN/order-service" 2>"$WORK/order.log" &
PIDS+=($!)
for i in 1 2; do
    ADMIN_PORT=0 INSTANCE_ID=payment-$i LOG_LEVEL=debug "$BIN/payment-service" \
        2>"$WORK/payment-$i.log" &
    PIDS+=($!)
done
# NOTIFY_FILE is a symlink, so the demo can later make the "disk" fail.
touch "$WORK/notifications.jsonl"
ln -s "$WORK/notifications.jsonl" "$WORK/notify-target"
NOTIFY_FILE=$WORK/notify-target ADMIN_PORT=0 INSTANCE_ID=notify-1 \
    "$BIN/notification-service" 2>"$WORK/notify.log" &
NOTIFY_PID=$!
PIDS+=($!)

wait_for 15 "order-service's port" logged_port order http
API=http://127.0.0.1:$(logged_port order http)
for svc in payment-1 payment-2 notify; do
    wait_for 15 "$svc's admin port" logged_port "$svc" admin
done
wait_for 30 "order-service /ready" curl -sf "$API/ready"
info "order-service         $API"
for svc in payment-1 payment-2 notify; do
    info "$(printf '%-21s' "$svc") admin http://127.0.0.1:$(logged_port "$svc" admin) (/health /ready /metrics)"
done

# assignment <log>: the order-created partitions an instance holds now.
assignment() {
    python3 - "$1" <<'PY'
import json, sys
held = set()
for line in open(sys.argv[1]):
    try:
        msg = json.loads(line).get("msg", "")
    except ValueError:
        continue
    for verb in ("assigned", "revoked"):
        p = "partitions %s: " % verb
        if msg.startswith(p):
            parts = {int(t.split("[")[1][:-1]) for t in msg[len(p):].split() if t.startswith("order-created[")}
            held = held | parts if verb == "assigned" else held - parts
print(" ".join(str(p) for p in sorted(held)))
PY
}
split_done() {
    local a b
    a=$(assignment "$WORK/payment-1.log")
    b=$(assignment "$WORK/payment-2.log")
    [ -n "$a" ] && [ -n "$b" ] && [ $(($(wc -w <<<"$a") + $(wc -w <<<"$b"))) -eq 6 ]
}
step "Consumer group payment-service: two instances share the 6 partitions of order-created"
wait_for 60 "both payment instances to hold partitions" split_done
wait_for 30 "notification-service to join its group" grep -q "partitions assigned" "$WORK/notify.log"
info "payment-1 holds partitions: $(assignment "$WORK/payment-1.log")"
info "payment-2 holds partitions: $(assignment "$WORK/payment-2.log")"

# ---- 4. orders -----------------------------------------------------------------------
step "Posting orders (PAYMENT_LIMIT is 10000.00: the last one is above it)"
BODIES=(
    '{"userId":"alice","items":[{"productId":"book","quantity":2,"price":12.5}],"currency":"EUR"}'
    '{"userId":"bob","items":[{"productId":"laptop","quantity":1,"price":1299.99},{"productId":"mouse","quantity":1,"price":25}]}'
    '{"userId":"carol","items":[{"productId":"coffee","quantity":3,"price":4.2}]}'
    '{"userId":"dave","items":[{"productId":"phone","quantity":2,"price":899}]}'
    '{"userId":"erin","items":[{"productId":"tea","quantity":10,"price":3.75}]}'
    '{"userId":"mallory","items":[{"productId":"yacht","quantity":1,"price":250000}]}'
)
ORDERS=()
for body in "${BODIES[@]}"; do
    printf "    %s\$ curl -X POST %s/orders -H 'Content-Type: application/json' -d '%s'%s\n" \
        "$D" "$API" "$body" "$N"
    resp=$(curl -sS -X POST "$API/orders" -H 'Content-Type: application/json' -d "$body" \
        -w '\n%{http_code}')
    code=${resp##*$'\n'}
    json=${resp%$'\n'*}
    [ "$code" = 201 ] || die "POST /orders answered $code: $json"
    id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["orderId"])' <<<"$json")
    ORDERS+=("$id")
    printf '    %s201%s %s\n' "$G" "$N" "$json"
done

step "Each order goes PENDING -> PAID or PAYMENT_FAILED (GET /orders/<id>)"
all_final() {
    for id in "${ORDERS[@]}"; do
        curl -sf "$API/orders/$id" | grep -q '"status":"PENDING"' && return 1
    done
    return 0
}
wait_for 30 "every order to be decided" all_final
for id in "${ORDERS[@]}"; do
    curl -sf "$API/orders/$id" | python3 -c '
import json, sys
o = json.load(sys.stdin)
color = "\033[32m" if o["status"] == "PAID" else "\033[31m"
if not sys.stdout.isatty(): color = ""
reset = "\033[0m" if color else ""
print("    %s  %-8s %10.2f %s  PENDING -> %s%s%s" % (o["orderId"], o["userId"], o["total"], o["currency"], color, o["status"], reset))'
done

step "Which payment instance decided which order (partition of its OrderCreated event)"
python3 - "$WORK" "${ORDERS[@]}" <<'PY'
import json, sys
work, ids = sys.argv[1], set(sys.argv[2:])
for inst in ("payment-1", "payment-2"):
    for line in open("%s/%s.log" % (work, inst)):
        try:
            l = json.loads(line)
        except ValueError:
            continue
        if "payment decision" in l.get("msg", "") and l.get("orderId") in ids:
            print("    %-10s partition %d  order %s  -> %s" % (inst, l["partition"], l["orderId"], l["msg"].split(": ")[-1]))
PY

step "Notifications written by notification-service ($WORK/notifications.jsonl)"
lines_at_least() { [ "$(grep -c . "$1" 2>/dev/null || true)" -ge "$2" ]; }
wait_for 30 "two notifications per order" lines_at_least "$WORK/notifications.jsonl" $((2 * ${#ORDERS[@]}))
python3 - "$WORK/notifications.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    print("    %-18s %-8s %s" % (n["type"], n["userId"], n["message"]))
PY
info "${D}exactly one line per event: $(cut -d'"' -f8 "$WORK/notifications.jsonl" | sort | uniq -d | wc -l) duplicates$N"

# ---- 5. dead letters -----------------------------------------------------------------
# dlq_summary <topic>: one line per dead letter, from eventbus-dlq list.
dlq_summary() {
    "$BIN/eventbus-dlq" list "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    h = d["deadLetter"]
    print("    %s[%d] key=%-10.36s group=%-20s %s: %s (attempts %s)" % (
        d["topic"], d["partition"], d["key"], h["kafka_dlt-original-consumer-group"],
        h["kafka_dlt-exception-fqcn"], h["kafka_dlt-exception-message"], h["eventbus-attempts"]))'
}
# dlq_has <topic> <text> <n>: at least n dead letters in topic mention text.
dlq_has() { [ "$("$BIN/eventbus-dlq" list "$1" | grep -c "$2" || true)" -ge "$3" ]; }

step "A poison message: someone writes a record that is not an event to order-created"
printf '    %s$ echo "hello kafka" | kcat -P -t order-created -k poison-1%s\n' "$D" "$N"
echo "hello kafka" | kcat -b "$BROKERS" -P -t order-created -k poison-1
wait_for 30 "the poison message in order-created-dlq (once per consuming group)" \
    dlq_has order-created-dlq poison-1 2
info "Both groups reading order-created dead-lettered it, with its key, value and headers"
info "kept and Spring Kafka's kafka_dlt-* headers added. Other orders kept flowing."
printf '    %s$ eventbus-dlq list order-created-dlq%s\n' "$D" "$N"
dlq_summary order-created-dlq

step "A failure with a cause you can fix: notification-service's disk is full"
ln -sfn /dev/full "$WORK/notify-target" # every write fails with ENOSPC
kill -HUP "$NOTIFY_PID"
wait_for 10 "notification-service to reopen its file" grep -q reopened "$WORK/notify.log"
body='{"userId":"frank","items":[{"productId":"kettle","quantity":1,"price":35}]}'
id=$(curl -sS -X POST "$API/orders" -H 'Content-Type: application/json' -d "$body" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["orderId"])')
info "order $id: each notification is retried with backoff (RETRY_MAX=3), then dead-lettered"
order_paid() { curl -sf "$API/orders/$id" | grep -q '"status":"PAID"'; }
wait_for 30 "the order to be paid" order_paid
info "while payment-service, another group, went on: the order is PAID."
wait_for 60 "$id in order-created-dlq" dlq_has order-created-dlq "$id" 1
wait_for 60 "$id in payment-processed-dlq" dlq_has payment-processed-dlq "$id" 1
dlq_summary order-created-dlq | grep "$id"
dlq_summary payment-processed-dlq | grep "$id"

# event_id_of <dlq-topic> <orderId>: the event id of that order's dead letter.
event_id_of() {
    "$BIN/eventbus-dlq" list "$1" | grep "$2" | head -1 |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["eventId"])'
}
notified() { grep "$id" "$WORK/notifications.jsonl" | grep -q "$1"; }

step "Fix the cause, then replay the dead letters"
ln -sfn "$WORK/notifications.jsonl" "$WORK/notify-target"
kill -HUP "$NOTIFY_PID"
for topic in order-created-dlq payment-processed-dlq; do
    eid=$(event_id_of "$topic" "$id")
    printf '    %s$ eventbus-dlq replay %s --event-id %s%s\n' "$D" "$topic" "$eid" "$N"
    "$BIN/eventbus-dlq" replay "$topic" --event-id "$eid" 2>&1 | sed 's/^/    /'
done
wait_for 30 "the replayed confirmation" notified ORDER_CONFIRMATION
wait_for 30 "the replayed receipt" notified PAYMENT_RECEIPT
grep "$id" "$WORK/notifications.jsonl" | python3 -c '
import json, sys
for line in sys.stdin:
    n = json.loads(line)
    print("    %-18s %-8s %s" % (n["type"], n["userId"], n["message"]))'
info "payment-service and order-service saw the replayed events as well, recognised them"
info "as handled, and skipped them: one payment decision, one status change."

printf '\n%sDemo complete.%s Logs: %s\n' "$G$B" "$N" "$WORK"
if [ $KEEP -eq 1 ]; then
    info "Everything keeps running (API $API). Press Ctrl-C to stop."
    while true; do sleep 3600; done
fi
