#!/usr/bin/env bash
# The suite's demo: everything a newcomer needs to see it work.
#
#   ./test-kafka.sh           run on the embedded broker (kafka-dev-broker)
#   ./test-kafka.sh --kafka   run on a real three-broker Apache Kafka cluster on this
#                             machine (kafka-local, KRaft, no Docker; needs Java, installed
#                             when missing), and kill -9 one broker in the middle
#   ./test-kafka.sh --docker  run on docker-compose.kafka.yml: three Kafka brokers
#                             (KRaft), Redis, Kafka UI and the services in containers
#   ./test-kafka.sh --keep    leave everything running at the end
#
# It installs what is missing, builds, starts kafka-dev-broker and a
# redis-server on free ports, then order-service, two payment-service
# instances, inventory-service, notification-service and user-service, sets
# stock, posts orders with curl (one above the payment limit, one for more
# coffee than there is), and tells the saga: each order going PENDING -> PAID
# -> CONFIRMED, or refunded and CANCELLED when stock is short, or
# PAYMENT_FAILED; a customer cancelling a confirmed order (refund, stock
# back); an order completed; a user registered and welcomed; the
# notifications written, which payment instance handled which partition,
# a poison message landing in the dead-letter topic, and a dead letter
# replayed once its cause is fixed, and ends with each group's consumer lag
# and the size of each dead-letter topic. Everything it started is stopped
# (by PID; with --docker, docker-compose down) when it ends.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/listening-port.sh
source scripts/listening-port.sh
ROOT=$PWD

KEEP=0 DOCKER=0 KAFKA=0
for arg in "$@"; do
    case "$arg" in
    --keep) KEEP=1 ;;
    --docker) DOCKER=1 ;;
    --kafka) KAFKA=1 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
    esac
done
[ $((DOCKER + KAFKA)) -le 1 ] || { echo "--docker and --kafka exclude each other" >&2; exit 2; }

if [ -t 1 ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" D="" N=""
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
info() { printf '    %s\n' "$*"; }
cmd() { printf '    %s$ %s%s\n' "$D" "$*" "$N"; }
die() { printf '%sdemo failed: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

WORK=$(mktemp -d /tmp/eventbus-demo.XXXXXX)
PIDS=()
COMPOSE=""
cleanup() {
    local rc=$?
    if [ $KEEP -eq 1 ] && [ $rc -eq 0 ]; then
        return
    fi
    if [ ${#PIDS[@]} -gt 0 ]; then
        printf '\n%s==> Stopping everything the demo started%s\n' "$B" "$N"
        # Daemons first (reverse start order), the broker and Redis last.
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            kill -TERM "${PIDS[i]}" 2>/dev/null || true
            wait "${PIDS[i]}" 2>/dev/null || true
        done
    fi
    if [ -n "$COMPOSE" ]; then
        printf '\n%s==> Stopping the compose stack%s\n' "$B" "$N"
        $COMPOSE down -v >/dev/null 2>&1 || true
    fi
    [ $rc -eq 0 ] && rm -rf "$WORK" || echo "    logs kept in $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for <seconds> <description> <command...>: polls until the command succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
        sleep 0.2
    done
}

# wait_line <seconds> <pid> <file> <what>: waits for the first line of file,
# giving up at once (with the log) when the process that writes it exits.
wait_line() {
    local deadline=$((SECONDS + $1)) pid=$2 file=$3 what=$4
    until [ -s "$file" ]; do
        kill -0 "$pid" 2>/dev/null || die "$what exited: $(tail -n 5 "${file%.out}.log" 2>/dev/null)"
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
        sleep 0.2
    done
}


free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# What differs between the two modes sits behind these, defined below:
#   log_of <service>               the service's log (payment-1, payment-2, notify, order)
#   dlq <args...>                  eventbus-dlq
#   produce <topic> <key> <value>  one record straight to Kafka
#   notifications                  the notification lines written so far
# and the base URLs API (order-service), ADMIN_PAYMENT_1, ADMIN_PAYMENT_2, ADMIN_NOTIFY.

start_embedded() {
    step "Installing missing packages and building"
    if [ $KAFKA -eq 1 ]; then scripts/install-deps.sh --kafka; else scripts/install-deps.sh; fi
    cmake --preset default >/dev/null
    cmake --build --preset default -j"$(nproc)" >/dev/null
    BIN=$ROOT/build/bin

    local redis_port
    if [ $KAFKA -eq 1 ]; then
        step "Starting Redis and a real Apache Kafka cluster: three KRaft brokers (kafka-local)"
    else
        step "Starting Redis and the embedded Kafka broker (kafka-dev-broker)"
    fi
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
        >"$WORK/redis.log" 2>&1 &
    PIDS+=($!)
    wait_for 10 "redis" redis-cli -p "$redis_port" ping
    info "redis-server          127.0.0.1:$redis_port (pid ${PIDS[-1]})"

    if [ $KAFKA -eq 1 ]; then
        cmd "kafka-local --brokers 3 --control $WORK/control.sock"
        "$BIN/kafka-local" --brokers 3 --control "$WORK/control.sock" \
            >"$WORK/broker.out" 2>"$WORK/broker.log" &
        PIDS+=($!)
        # The first run fetches the Kafka release through Maven.
        wait_line 600 "${PIDS[-1]}" "$WORK/broker.out" kafka-local
        BROKERS=$(head -1 "$WORK/broker.out")
        info "kafka-local           $BROKERS (pid ${PIDS[-1]})"
        info "                      $(grep -o 'Apache Kafka [^"]*up in [0-9]* ms' "$WORK/broker.log"),"
        info "                      topics with 6 partitions, replication factor 3, min.insync.replicas 2"
        # A real broker answers a waiting fetch as soon as data arrives: no
        # fetch.wait.max.ms override, as in production.
        cat >"$WORK/client.properties" <<'PROPS'
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=1000
consumer.statistics.interval.ms=1000
reconnect.backoff.max.ms=1000
PROPS
    else
        "$BIN/kafka-dev-broker" --partitions 6 >"$WORK/broker.out" 2>"$WORK/broker.log" &
        PIDS+=($!)
        wait_line 10 "${PIDS[-1]}" "$WORK/broker.out" kafka-dev-broker
        BROKERS=$(head -1 "$WORK/broker.out")
        info "kafka-dev-broker      $BROKERS (pid ${PIDS[-1]}), topics with 6 partitions each"

        # Client settings for the embedded broker: short session timeouts so a
        # rebalance takes seconds, short fetch waits (the mock does not wake a
        # waiting fetch when data arrives; docs/mock-cluster.md).
        cat >"$WORK/client.properties" <<'PROPS'
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=1000
consumer.fetch.wait.max.ms=10
consumer.statistics.interval.ms=1000
reconnect.backoff.max.ms=1000
PROPS
    fi
    export KAFKA_BROKERS=$BROKERS KAFKA_CONFIG_FILE=$WORK/client.properties
    export REDIS_URL=redis://127.0.0.1:$redis_port/0 BIND_ADDRESS=127.0.0.1

    step "Starting order-service, two payment-service instances, inventory-service,"
    info "notification-service and user-service"
    HTTP_PORT=0 INSTANCE_ID=order-1 "$BIN/order-service" 2>"$WORK/order.log" &
    local order_pid=$! payment_pid=()
    PIDS+=($!)
    for i in 1 2; do
        ADMIN_PORT=0 INSTANCE_ID=payment-$i LOG_LEVEL=debug "$BIN/payment-service" \
            2>"$WORK/payment-$i.log" &
        payment_pid[i]=$!
        PIDS+=($!)
    done
    # Products the demo does not stock explicitly have 100 units.
    HTTP_PORT=0 INSTANCE_ID=inventory-1 INVENTORY_DEFAULT_STOCK=100 "$BIN/inventory-service" \
        2>"$WORK/inventory.log" &
    local inventory_pid=$!
    PIDS+=($!)
    HTTP_PORT=0 INSTANCE_ID=user-1 "$BIN/user-service" 2>"$WORK/user.log" &
    local user_pid=$!
    PIDS+=($!)
    # NOTIFY_FILE is a symlink, so the demo can later make the "disk" fail.
    touch "$WORK/notifications.jsonl"
    ln -s "$WORK/notifications.jsonl" "$WORK/notify-target"
    NOTIFY_FILE=$WORK/notify-target ADMIN_PORT=0 INSTANCE_ID=notify-1 \
        "$BIN/notification-service" 2>"$WORK/notify.log" &
    NOTIFY_PID=$!
    PIDS+=($!)

    # Port 0: each daemon picks a free port; ask the kernel which.
    wait_for 15 "order-service's port" listening_port "$order_pid"
    wait_for 15 "payment-1's admin port" listening_port "${payment_pid[1]}"
    wait_for 15 "payment-2's admin port" listening_port "${payment_pid[2]}"
    wait_for 15 "notification-service's admin port" listening_port "$NOTIFY_PID"
    wait_for 15 "inventory-service's port" listening_port "$inventory_pid"
    wait_for 15 "user-service's port" listening_port "$user_pid"
    INVENTORY=http://127.0.0.1:$(listening_port "$inventory_pid")
    USERS=http://127.0.0.1:$(listening_port "$user_pid")
    API=http://127.0.0.1:$(listening_port "$order_pid")
    ADMIN_PAYMENT_1=http://127.0.0.1:$(listening_port "${payment_pid[1]}")
    ADMIN_PAYMENT_2=http://127.0.0.1:$(listening_port "${payment_pid[2]}")
    ADMIN_NOTIFY=http://127.0.0.1:$(listening_port "$NOTIFY_PID")

    log_of() { cat "$WORK/$1.log"; }
    dlq() { "$BIN/eventbus-dlq" "$@"; }
    produce() {
        cmd "echo '$3' | kcat -P -t $1 -k $2"
        echo "$3" | kcat -b "$BROKERS" -P -t "$1" -k "$2"
    }
    notifications() { cat "$WORK/notifications.jsonl"; }
}

start_docker() {
    step "Building the image and starting docker-compose.kafka.yml"
    command -v docker >/dev/null || die "--docker needs Docker (docker and docker-compose)"
    if docker compose version >/dev/null 2>&1; then
        COMPOSE="docker compose -f $ROOT/docker-compose.kafka.yml"
    elif command -v docker-compose >/dev/null; then
        COMPOSE="docker-compose -f $ROOT/docker-compose.kafka.yml"
    else
        die "--docker needs docker compose or docker-compose"
    fi
    cmd "$COMPOSE up -d --build"
    $COMPOSE up -d --build
    API=http://127.0.0.1:3000
    ADMIN_PAYMENT_1=http://127.0.0.1:3001
    ADMIN_PAYMENT_2=http://127.0.0.1:3005
    ADMIN_NOTIFY=http://127.0.0.1:3002
    USERS=http://127.0.0.1:3003
    INVENTORY=http://127.0.0.1:3004
    info "order-service $API, payment-service $ADMIN_PAYMENT_1 and $ADMIN_PAYMENT_2,"
    info "notification-service $ADMIN_NOTIFY, Kafka UI http://127.0.0.1:8080"

    log_of() {
        local svc=$1
        [ "$svc" = notify ] && svc=notification-service
        [ "$svc" = order ] && svc=order-service
        $COMPOSE logs --no-color --no-log-prefix "$svc" 2>/dev/null
    }
    dlq() { $COMPOSE exec -T order-service eventbus-dlq "$@"; }
    # Host tools reach the brokers through their HOST listeners.
    BROKERS=localhost:19092,localhost:19093,localhost:19094
    command -v kcat >/dev/null || scripts/install-deps.sh
    wait_for 120 "the brokers' host listeners" kcat -b "$BROKERS" -L -m 5
    info "Kafka from the host: $BROKERS"
    produce() {
        cmd "echo '$3' | kcat -b $BROKERS -P -t $1 -k $2"
        echo "$3" | kcat -b "$BROKERS" -P -t "$1" -k "$2"
    }
    notifications() {
        $COMPOSE exec -T notification-service cat /var/lib/eventbus/notifications/notifications.jsonl
    }
}

if [ $DOCKER -eq 1 ]; then start_docker; else start_embedded; fi

wait_for 120 "order-service /ready" curl -sf "$API/ready"
for url in "$ADMIN_PAYMENT_1" "$ADMIN_PAYMENT_2" "$ADMIN_NOTIFY" "$INVENTORY" "$USERS"; do
    wait_for 120 "$url/ready" curl -sf "$url/ready"
done
info "order-service         $API"
info "payment-1             $ADMIN_PAYMENT_1 (/health /ready /metrics)"
info "payment-2             $ADMIN_PAYMENT_2"
info "notification-service  $ADMIN_NOTIFY"
info "inventory-service     $INVENTORY (PUT/GET /inventory/<productId>, /health /ready /metrics)"
info "user-service          $USERS (POST/PUT/GET /users)"

# ---- the group splits the partitions ---------------------------------------------------
# assignment <service>: the order-created partitions it holds, from its logs.
assignment() {
    log_of "$1" | python3 -c '
import json, sys
held = set()
for line in sys.stdin:
    try:
        msg = json.loads(line).get("msg", "")
    except ValueError:
        continue
    for verb in ("assigned", "revoked"):
        p = "partitions %s: " % verb
        if msg.startswith(p):
            parts = {int(t.split("[")[1][:-1]) for t in msg[len(p):].split()
                     if t.startswith("order-created[")}
            held = held | parts if verb == "assigned" else held - parts
print(" ".join(str(p) for p in sorted(held)))'
}
split_done() {
    local a b
    a=$(assignment payment-1)
    b=$(assignment payment-2)
    [ -n "$a" ] && [ -n "$b" ] && [ $(($(wc -w <<<"$a") + $(wc -w <<<"$b"))) -eq 6 ]
}
step "Consumer group payment-service: two instances share the 6 partitions of order-created"
wait_for 90 "both payment instances to hold partitions" split_done
info "payment-1 holds partitions: $(assignment payment-1)"
info "payment-2 holds partitions: $(assignment payment-2)"

# ---- stock ----------------------------------------------------------------------------
step "Stock per product (inventory-service; products not set here have 100 units)"
set_stock() {
    cmd "curl -X PUT $INVENTORY/inventory/$1 -H 'Content-Type: application/json' -d '{\"available\":$2}'"
    curl -sSf -X PUT "$INVENTORY/inventory/$1" -H 'Content-Type: application/json' \
        -d "{\"available\":$2}" | sed 's/^/    /'
    echo
}
set_stock book 10
set_stock laptop 3
set_stock coffee 2

# ---- orders ---------------------------------------------------------------------------
step "Posting orders (PAYMENT_LIMIT is 10000.00: the last one is above it; carol wants 3 of 2 coffees)"
BODIES=(
    '{"userId":"alice","items":[{"productId":"book","quantity":2,"price":12.5}],"currency":"EUR"}'
    '{"userId":"bob","items":[{"productId":"laptop","quantity":1,"price":1299.99},{"productId":"mouse","quantity":1,"price":25}]}'
    '{"userId":"carol","items":[{"productId":"coffee","quantity":3,"price":4.2}]}'
    '{"userId":"dave","items":[{"productId":"phone","quantity":2,"price":899}]}'
    '{"userId":"erin","items":[{"productId":"tea","quantity":10,"price":3.75}]}'
    '{"userId":"mallory","items":[{"productId":"yacht","quantity":1,"price":250000}]}'
)
ORDERS=()
post_order() {
    local resp code json
    resp=$(curl -sS -X POST "$API/orders" -H 'Content-Type: application/json' -d "$1" \
        -w '\n%{http_code}')
    code=${resp##*$'\n'}
    json=${resp%$'\n'*}
    [ "$code" = 201 ] || die "POST /orders answered $code: $json"
    printf '    %s201%s %s\n' "$G" "$N" "$json" >&2
    python3 -c 'import json,sys; print(json.load(sys.stdin)["orderId"])' <<<"$json"
}
for body in "${BODIES[@]}"; do
    cmd "curl -X POST $API/orders -H 'Content-Type: application/json' -d '$body'"
    ORDERS+=("$(post_order "$body")")
done

step "The saga: paid and stock reserved -> CONFIRMED; stock short -> refunded and CANCELLED"
# show_orders <id>...: one line per order with its status (and reason).
show_orders() {
    for id in "$@"; do
        curl -sf "$API/orders/$id" | python3 -c '
import json, sys
o = json.load(sys.stdin)
good = o["status"] in ("PAID", "CONFIRMED", "COMPLETED")
color, reset = ("\033[32m" if good else "\033[31m"), "\033[0m"
if not sys.stdout.isatty():
    color = reset = ""
why = " (%s)" % o["reason"] if o.get("reason") else ""
print("    %s  %-8s %10.2f %s  %s%s%s%s" % (o["orderId"], o["userId"], o["total"],
      o["currency"], color, o["status"], why, reset))'
    done
}
all_final() {
    for id in "${ORDERS[@]}"; do
        curl -sf "$API/orders/$id" | grep -Eq '"status":"(PENDING|PAID)"' && return 1
    done
    return 0
}
wait_for 60 "every order to be decided, reserved or refused" all_final
show_orders "${ORDERS[@]}"
info "carol's coffee: payment-service charged her, inventory-service found 2 of 3, and"
info "payment-service refunded the charge (PaymentRefunded, reason \"out of stock\"):"
refund_of() {
    kcat -b "$BROKERS" -C -t payment-refunded -e -q 2>/dev/null | grep "$1" | head -1
}
wait_for 30 "carol's refund" refund_of "${ORDERS[2]}"
refund_of "${ORDERS[2]}" | python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
print("    PaymentRefunded %(paymentId)s %(amount)s %(currency)s: %(reason)s" % e["data"])'
cmd "curl $INVENTORY/inventory/coffee"
curl -sf "$INVENTORY/inventory/coffee" | sed 's/^/    /'
echo

step "Which payment instance decided which order (the partition of its OrderCreated)"
for inst in payment-1 payment-2; do
    log_of "$inst" | python3 -c '
import json, sys
inst, ids = sys.argv[1], set(sys.argv[2:])
for line in sys.stdin:
    try:
        l = json.loads(line)
    except ValueError:
        continue
    if "payment decision" in l.get("msg", "") and l.get("orderId") in ids:
        print("    %-10s partition %d  order %s  -> %s" % (inst, l["partition"], l["orderId"],
              l["msg"].split(": ")[-1]))' "$inst" "${ORDERS[@]}"
done
for inst in 1 2; do
    url=ADMIN_PAYMENT_$inst
    info "payment-$inst handled $(curl -sf "${!url}/metrics" |
        awk -F' ' '/^events_consumed_total\{topic="order-created",result="ok"\}/ {print $2}' |
        head -1) OrderCreated event(s) in all (events_consumed_total)"
done

# ---- the customer cancels, an order completes, a user signs up --------------------------------
step "alice cancels her confirmed order: refunded, and her books go back on the shelf"
cmd "curl $INVENTORY/inventory/book"
curl -sf "$INVENTORY/inventory/book" | sed 's/^/    /'
echo
cmd "curl -X POST $API/orders/${ORDERS[0]}/cancel"
curl -sS -X POST "$API/orders/${ORDERS[0]}/cancel" -w '  (%{http_code})\n' | sed 's/^/    /'
books_back() { curl -sf "$INVENTORY/inventory/book" | grep -q '"available":10,'; }
wait_for 30 "the books back in stock (InventoryReleased)" books_back
wait_for 30 "alice's refund" refund_of "${ORDERS[0]}"
cmd "curl $INVENTORY/inventory/book"
curl -sf "$INVENTORY/inventory/book" | sed 's/^/    /'
echo

step "bob's laptop is delivered: PUT /orders/<id>/complete"
cmd "curl -X PUT $API/orders/${ORDERS[1]}/complete"
curl -sS -X PUT "$API/orders/${ORDERS[1]}/complete" -w '  (%{http_code})\n' | sed 's/^/    /'
shipped() { curl -sf "$INVENTORY/inventory/laptop" | grep -q '"shipped":1'; }
wait_for 30 "the laptop counted as shipped" shipped
cmd "curl $INVENTORY/inventory/laptop"
curl -sf "$INVENTORY/inventory/laptop" | sed 's/^/    /'
echo

step "A user registers (user-service, through its own transactional outbox)"
cmd "curl -X POST $USERS/users -H 'Content-Type: application/json' -d '{\"name\":\"Grace Hopper\",\"email\":\"grace@example.com\",\"age\":85}'"
curl -sS -X POST "$USERS/users" -H 'Content-Type: application/json' \
    -d '{"name":"Grace Hopper","email":"grace@example.com","age":85}' -w '  (%{http_code})\n' |
    sed 's/^/    /'
welcomed() { notifications | grep -q '"type":"WELCOME"'; }
wait_for 30 "the welcome message" welcomed

step "Notifications written by notification-service, one per event"
notified_at_least() { [ "$(notifications | grep -c . || true)" -ge "$1" ]; }
# Two per order, plus carol's and alice's refunds, alice's cancel, bob's
# completion and the welcome.
wait_for 60 "every notification" notified_at_least $((2 * ${#ORDERS[@]} + 5))
notifications | python3 -c '
import collections, json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
for n in lines:
    print("    %-18s %-8s %s" % (n["type"], n["userId"] or "", n["message"]))
dups = [e for e, c in collections.Counter(n["eventId"] for n in lines).items() if c > 1]
print("    (%d lines, %d events notified more than once)" % (len(lines), len(dups)))'

# ---- a broker dies (real cluster only) -----------------------------------------------
if [ $KAFKA -eq 1 ]; then
    # control <command>: one line to kafka-local's control socket, its answer back.
    control() {
        python3 - "$WORK/control.sock" "$1" <<'PY'
import socket, sys
c = socket.socket(socket.AF_UNIX)
c.settimeout(240)
c.connect(sys.argv[1])
c.sendall(sys.argv[2].encode() + b"\n")
data = b""
while not data.endswith(b"\n"):
    chunk = c.recv(256)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
    }
    leader_of() {
        kcat -b "$BROKERS" -L -J -t order-created 2>/dev/null | python3 -c '
import json, sys
md = json.load(sys.stdin)
print([p["leader"] for t in md["topics"] for p in t["partitions"] if p["partition"] == 0][0])'
    }
    victim=$(leader_of)
    step "kill -9 broker $victim, the leader of order-created[0], with orders coming in"
    cmd "echo 'down $victim' | kafka-local control socket"
    t0=$SECONDS
    [ "$(control "down $victim")" = ok ] || die "could not kill broker $victim"
    info "broker $victim is gone; the controller moves its partitions' leadership to the"
    info "in-sync replicas once its session expires (broker.session.timeout.ms, 9 s)."
    DURING=()
    for body in \
        '{"userId":"grace","items":[{"productId":"lamp","quantity":1,"price":40}]}' \
        '{"userId":"heidi","items":[{"productId":"desk","quantity":1,"price":220}]}' \
        '{"userId":"ivan","items":[{"productId":"chair","quantity":4,"price":65}]}'; do
        DURING+=("$(post_order "$body")")
    done
    during_final() {
        for id in "${DURING[@]}"; do
            curl -sf "$API/orders/$id" | grep -q '"status":"CONFIRMED"' || return 1
        done
    }
    wait_for 120 "the orders posted after the kill to be confirmed" during_final
    info "all three CONFIRMED $((SECONDS - t0)) s after the kill; new leader of order-created[0]:" \
        "broker $(leader_of)"
    cmd "echo 'up $victim' | kafka-local control socket"
    [ "$(control "up $victim")" = ok ] || die "could not restart broker $victim"
    info "broker $victim is back on its own data and catches up as a follower."
    ORDERS+=("${DURING[@]}")
fi

# ---- dead letters ---------------------------------------------------------------------
# dlq_summary <topic>: one line per dead letter, from eventbus-dlq list.
dlq_summary() {
    dlq list "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    h = d["deadLetter"]
    print("    %s[%d] key=%-10.36s group=%-20s %s: %s (attempts %s)" % (
        d["topic"], d["partition"], d["key"], h["kafka_dlt-original-consumer-group"],
        h["kafka_dlt-exception-fqcn"], h["kafka_dlt-exception-message"], h["eventbus-attempts"]))'
}
# dlq_has <topic> <text> <n>: at least n dead letters in topic mention text.
dlq_has() { [ "$(dlq list "$1" | grep -c "$2" || true)" -ge "$3" ]; }

step "A poison message: someone writes a record that is not an event to order-created"
produce order-created poison-1 "hello kafka"
wait_for 60 "the poison message in order-created-dlq (once per consuming group)" \
    dlq_has order-created-dlq poison-1 2
info "Both groups reading order-created dead-lettered it, with its key, value and headers"
info "kept and Spring Kafka's kafka_dlt-* headers added. Other orders kept flowing."
cmd "eventbus-dlq list order-created-dlq"
dlq_summary order-created-dlq

if [ $DOCKER -eq 0 ]; then
    step "A failure with a cause you can fix: notification-service's disk is full"
    ln -sfn /dev/full "$WORK/notify-target" # every write fails with ENOSPC
    kill -HUP "$NOTIFY_PID"
    wait_for 10 "notification-service to reopen its file" grep -q reopened "$WORK/notify.log"
    cmd "curl -X POST $API/orders ... (frank's kettle)"
    id=$(post_order '{"userId":"frank","items":[{"productId":"kettle","quantity":1,"price":35}]}')
    info "each of its notifications is retried with backoff (RETRY_MAX=3), then dead-lettered,"
    order_paid() { curl -sf "$API/orders/$id" | grep -Eq '"status":"(PAID|CONFIRMED)"'; }
    wait_for 30 "the order to be paid" order_paid
    info "while payment-service and inventory-service, other groups, went on: the order is paid."
    wait_for 60 "$id in order-created-dlq" dlq_has order-created-dlq "$id" 1
    wait_for 60 "$id in payment-processed-dlq" dlq_has payment-processed-dlq "$id" 1
    dlq_summary order-created-dlq | grep "$id"
    dlq_summary payment-processed-dlq | grep "$id"

    step "Fix the cause, then replay the dead letters"
    ln -sfn "$WORK/notifications.jsonl" "$WORK/notify-target"
    kill -HUP "$NOTIFY_PID"
    for topic in order-created-dlq payment-processed-dlq; do
        eid=$(dlq list "$topic" | grep "$id" | head -1 |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["eventId"])')
        cmd "eventbus-dlq replay $topic --event-id $eid"
        dlq replay "$topic" --event-id "$eid" 2>&1 | sed 's/^/    /'
    done
    notified() { notifications | grep "$id" | grep -q "$1"; }
    wait_for 30 "the replayed confirmation" notified ORDER_CONFIRMATION
    wait_for 30 "the replayed receipt" notified PAYMENT_RECEIPT
    notifications | grep "$id" | python3 -c '
import json, sys
for line in sys.stdin:
    n = json.loads(line)
    print("    %-18s %-8s %s" % (n["type"], n["userId"], n["message"]))'
    info "payment-service and order-service saw the replayed events as well, recognised them"
    info "as handled, and skipped them: one payment decision, one status change."
fi

# ---- where things stand -------------------------------------------------------------------
step "Consumer lag per group (consumer_lag from each member's /metrics) and dead-letter topics"
sleep 2 # one statistics interval, so the lag includes the last commits
python3 - "order-service=$API" "payment-service=$ADMIN_PAYMENT_1" \
    "payment-service=$ADMIN_PAYMENT_2" "notification-service=$ADMIN_NOTIFY" \
    "inventory-service=$INVENTORY" <<'PY'
import collections, re, sys, urllib.request
lag = collections.Counter()
for arg in sys.argv[1:]:
    group, url = arg.split("=", 1)
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    for m in re.finditer(r'^consumer_lag\{topic="([^"]+)",partition="\d+"\} (\S+)$', text, re.M):
        lag[(group, m.group(1))] += float(m.group(2))
print("    %-22s %-24s %s" % ("group", "topic", "lag"))
for (group, topic), n in sorted(lag.items()):
    print("    %-22s %-24s %d" % (group, topic, n))
PY
for t in order-created-dlq payment-processed-dlq payment-failed-dlq inventory-insufficient-dlq \
    order-cancelled-dlq order-completed-dlq payment-refunded-dlq user-registered-dlq; do
    info "$(printf '%-28s %d dead letter(s)' "$t" "$(dlq list "$t" | grep -c . || true)")"
done

step "The status of each order at the end"
show_orders "${ORDERS[@]}"

printf '\n%sDemo complete.%s Logs: %s\n' "$G$B" "$N" "$WORK"
if [ $KEEP -eq 1 ]; then
    if [ $DOCKER -eq 1 ]; then
        info "The stack keeps running: $COMPOSE down -v stops it."
    else
        info "Everything keeps running (API $API). Press Ctrl-C to stop."
        trap 'KEEP=0; exit 0' INT TERM
        while true; do sleep 3600; done
    fi
fi
