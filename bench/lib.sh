# shellcheck shell=bash disable=SC2154,SC2034
# Shared helpers of the bench/ scripts (sourced, not run).
#
# The caller sets, before using them:
#   me     name for log lines;     work  a private temporary directory;
#   keep   1 to keep $work;        pids  an array, filled here with every
#                                        process started (start order);
#   wrk_threads, conns, lua        the wrk settings.
# and installs bench_cleanup on EXIT. Every process is stopped by its PID.

log() { printf '[%s %s] %s\n' "$me" "$(date +%T)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 3
}
alive() { kill -0 "$1" 2>/dev/null; }

# Extra PIDs (wrk, perf, samplers) bench_cleanup stops first.
aux_pids=()
wrk_pid=""

# Stops one process by PID: SIGTERM, up to 10 s, then SIGKILL. Returns its
# exit status (128+N when a signal ended it).
stop_pid() {
    local pid=$1 i rc=0
    [ -n "$pid" ] || return 0
    if ! alive "$pid"; then
        wait "$pid" 2>/dev/null || rc=$?
        return $rc
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "pid $pid ignored SIGTERM for 10 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    return $rc
}

# Forgets a PID stopped by the caller, so bench_cleanup leaves it alone.
forget_pid() {
    local p rest=()
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
    pids=("${rest[@]}")
}

bench_cleanup() {
    local rc=$? i pid
    trap - EXIT INT TERM
    set +e # a failing kill or wait must not cut the cleanup short
    for pid in "$wrk_pid" "${aux_pids[@]}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    # Reverse start order: the HTTP servers before the broker and Redis.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${pids[$i]}"
    done
    if [ "$keep" -eq 1 ]; then
        log "work directory kept: $work"
    else
        rm -rf "$work"
    fi
    exit $rc
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        shuf -i 20000-60000 -n 1
}

# wait_for WHAT TENTHS CMD...: waits up to TENTHS tenths of a second for CMD
# to succeed, or dies.
wait_for() {
    local what=$1 tenths=$2 i
    shift 2
    for ((i = 0; i < tenths; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "$what did not come up (logs in $work)"
}

machine_line() {
    local model
    model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    echo "$(nproc) x $model, kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo ?)"
}

# The commit the sources are at (with -dirty when the tree has changes).
source_line() { git -C "$1" describe --always --dirty --abbrev=12 2>/dev/null || echo "unknown"; }

# Picks the binary directory: $1 if given, else build-release/bin when it has
# order-service, else build/bin.
pick_bindir() {
    local root=$1 given=$2
    if [ -n "$given" ]; then
        echo "$given"
    elif [ -x "$root/build-release/bin/order-service" ]; then
        echo "$root/build-release/bin"
    else
        echo "$root/build/bin"
    fi
}

# start_redis: sets redis_port and redis_pid.
start_redis() {
    local i
    for _ in 1 2 3; do
        redis_port=$(free_port)
        redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
            --protected-mode yes --daemonize no --logfile "$work/redis.log" &
        redis_pid=$!
        pids+=("$redis_pid")
        for ((i = 0; i < 50; i++)); do
            redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
            alive "$redis_pid" || break
            sleep 0.1
        done
        log "redis-server did not start on port $redis_port; trying another"
    done
    die "redis-server did not start ($work/redis.log)"
}
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }

# The broker a benchmark runs on: bench_broker=dev (kafka-dev-broker, the
# default) or kafka (kafka-local: a real three-node Apache Kafka cluster
# (BENCH_KAFKA_BROKERS=1 for one node),
# RF 3, min.insync.replicas 2, the producers' acks=all). Scripts take
# --broker dev|kafka, or BENCH_BROKER from the environment.
bench_broker=${BENCH_BROKER:-dev}

# broker_name: the executable start_broker runs, for log lines.
broker_name() { if [ "$bench_broker" = kafka ]; then echo kafka-local; else echo kafka-dev-broker; fi; }

# start_broker BINDIR PARTITIONS: sets brokers and broker_pid.
start_broker() {
    case "$bench_broker" in
    dev) "$1/kafka-dev-broker" --partitions "$2" >"$work/broker.out" 2>"$work/broker.err" & ;;
    kafka) "$1/kafka-local" --brokers "${BENCH_KAFKA_BROKERS:-3}" --partitions "$2" >"$work/broker.out" 2>"$work/broker.err" & ;;
    *) die "unknown broker '$bench_broker' (dev or kafka)" ;;
    esac
    broker_pid=$!
    pids+=("$broker_pid")
    # Three JVMs take seconds (a first run also fetches the release).
    broker_up() {
        alive "$broker_pid" || die "$(broker_name) exited: $(tail -n 5 "$work/broker.err")"
        test -s "$work/broker.out"
    }
    wait_for "$(broker_name)" 3000 broker_up
    brokers=$(head -n1 "$work/broker.out")
    log "$(broker_name): $brokers"
}

# broker_cpu_s: CPU seconds of the broker, its JVMs included.
broker_cpu_s() {
    local total pid
    total=$(cpu_s "$broker_pid")
    for pid in $(pgrep -P "$broker_pid" || true); do
        total=$(awk -v a="$total" -v b="$(cpu_s "$pid")" 'BEGIN {print a + b}')
    done
    echo "$total"
}


# shellcheck source=../scripts/listening-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/listening-port.sh"

# daemon_port NAME PID: prints the port a daemon started with port 0 listens
# on (it also logs it); dies if it exits first or takes more than 15 s.
daemon_port() {
    local name=$1 pid=$2 port="" i
    for ((i = 0; i < 150; i++)); do
        port=$(listening_port "$pid") && break
        alive "$pid" || die "$name exited at start: $(tail -n3 "$work/$name.log")"
        sleep 0.1
    done
    [ -n "$port" ] || die "$name did not listen on a port"
    echo "$port"
}

# start_order NAME BINDIR REDIS_DB [VAR=value...]: starts order-service with
# HTTP_PORT=0, waits for /ready and a first 201, sets os_pid and os_url.
# With the array order_wrapper set (a command and its options, valgrind say)
# order-service runs under it, its PID being the wrapper's; /ready may then
# take up to 60 s.
start_order() {
    local name=$1 bindir=$2 db=$3 code
    shift 3
    env KAFKA_BROKERS="$brokers" REDIS_URL="redis://127.0.0.1:$redis_port/$db" HTTP_PORT=0 \
        BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info "$@" \
        ${order_wrapper[@]+"${order_wrapper[@]}"} "$bindir/order-service" >"$work/$name.log" 2>&1 &
    os_pid=$!
    pids+=("$os_pid")
    os_url=http://127.0.0.1:$(daemon_port "$name" "$os_pid")
    wait_for "$name /ready" 600 curl -sf "$os_url/ready"
    code=$(curl -s -o "$work/$name.smoke" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"userId":"u1","items":[{"productId":"p1","quantity":2,"price":50}]}' "$os_url/orders")
    [ "$code" = 201 ] || die "$name: smoke POST /orders answered $code: $(cat "$work/$name.smoke")"
}

# start_consumer NAME BINDIR BINARY [VAR=value...]: starts payment-service or
# notification-service with ADMIN_PORT=0, waits until it joined its group,
# sets c_pid and c_url.
start_consumer() {
    local name=$1 bindir=$2 binary=$3
    shift 3
    env KAFKA_BROKERS="$brokers" REDIS_URL="redis://127.0.0.1:$redis_port/0" ADMIN_PORT=0 \
        BIND_ADDRESS=127.0.0.1 LOG_LEVEL=info INSTANCE_ID="$name" "$@" \
        "$bindir/$binary" >"$work/$name.log" 2>&1 &
    c_pid=$!
    pids+=("$c_pid")
    c_url=http://127.0.0.1:$(daemon_port "$name" "$c_pid")
}

# ensure_bare BINDIR: prints the path of bench-bare-mhd, compiling
# bench/bare_mhd.c into $work when BINDIR lacks it.
ensure_bare() {
    if [ -x "$1/bench-bare-mhd" ]; then
        echo "$1/bench-bare-mhd"
        return
    fi
    log "compiling bench/bare_mhd.c (no bench-bare-mhd in $1)"
    # shellcheck disable=SC2046
    gcc -O2 -o "$work/bench-bare-mhd" "$here/bare_mhd.c" $(pkg-config --cflags --libs libmicrohttpd) ||
        die "cannot compile bench/bare_mhd.c"
    echo "$work/bench-bare-mhd"
}

# start_bare BIN THREADS: sets bare_pid and bare_url.
start_bare() {
    "$1" 0 "$2" >"$work/bare.out" 2>"$work/bare.err" &
    bare_pid=$!
    pids+=("$bare_pid")
    wait_for "bench-bare-mhd" 50 grep -q '^port ' "$work/bare.out"
    bare_url=http://127.0.0.1:$(awk '/^port /{print $2; exit}' "$work/bare.out")
}

# start_peer: starts the Express + kafkajs peer (bench/peer/server.js, its
# node_modules from scripts/install-deps.sh --bench) on a free port against
# $brokers, waits for a first 201, sets peer_pid and peer_url.
start_peer() {
    local code
    env KAFKA_BROKERS="$brokers" PORT=0 BIND_ADDRESS=127.0.0.1 NODE_ENV=production \
        KAFKAJS_NO_PARTITIONER_WARNING=1 node "$here/peer/server.js" >"$work/peer.out" 2>"$work/peer.err" &
    peer_pid=$!
    pids+=("$peer_pid")
    peer_up() {
        alive "$peer_pid" || die "the peer exited at start: $(tail -n3 "$work/peer.err")"
        grep -q '^port ' "$work/peer.out"
    }
    wait_for "the peer" 300 peer_up
    peer_url=http://127.0.0.1:$(awk '/^port /{print $2; exit}' "$work/peer.out")
    code=$(curl -s -o "$work/peer.smoke" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"userId":"u1","items":[{"productId":"p1","quantity":2,"price":50}]}' "$peer_url/orders")
    [ "$code" = 201 ] || die "the peer: smoke POST /orders answered $code: $(cat "$work/peer.smoke")"
}

# peer_stat NAME: the peer's count NAME (created, failed, invalid) from its
# GET /stats, 0 if it does not answer.
peer_stat() {
    { curl -sf "$peer_url/stats" || true; } | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | grep . || echo 0
}

# run_wrk NAME URL SECONDS: runs wrk (its output kept as $work/wrk-NAME.txt)
# and sets R to its RESULT line.
run_wrk() {
    local name=$1 url=$2 secs=$3 out=$work/wrk-$1.txt
    wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency -s "$lua" "$url" >"$out" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || {
        wrk_pid=""
        die "wrk failed ($name): $(tail -n3 "$out")"
    }
    wrk_pid=""
    R=$(grep '^RESULT ' "$out") || die "wrk printed no RESULT line ($name): $(tail -n3 "$out")"
}

# field KEY RESULT-LINE: the value of KEY=...
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# median of the numbers on stdin, one a line.
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# medians RESULT-LINES...: a RESULT line of the medians of every field.
medians() {
    local l="RESULT" k x
    for k in rps requests non2xx errors p50_ms p90_ms p99_ms p999_ms max_ms; do
        l="$l $k=$(for x in "$@"; do field "$k" "$x"; done | median)"
    done
    echo "$l"
}

# CPU seconds (user + system) a process has used.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# us_per A B N: (B - A) seconds in microseconds per N.
us_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", n ? (b - a) * 1e6 / n : 0}'; }

# wait_outbox_drained URL: polls order-service at URL for up to 30 s until
# its outbox is empty and it published as many OrderCreated as it answered
# 201s. Sets created, published, xlen, and drained (1, or 0 on timeout).
wait_outbox_drained() {
    local i
    drained=0
    for ((i = 0; i < 300; i++)); do
        created=$(metric "$1" 'http_requests_total{route="/orders",code="201"}')
        published=$(metric "$1" 'events_published_total{topic="order-created"}')
        xlen=$(rcli XLEN orders:outbox)
        if [ "$xlen" = 0 ] && [ "$published" -ge "$created" ]; then
            drained=1
            return 0
        fi
        sleep 0.1
    done
}

# metric URL NAME-AND-LABELS: its value on URL/metrics, 0 if absent.
metric() {
    { curl -sf "$1/metrics" || true; } |
        awk -v m="$2" 'index($0, m " ") == 1 {print $2 + 0; f = 1} END {if (!f) print 0}'
}

# The broker's own count of the events of a topic (order-created by
# default): last offset + 1 of every partition (the mock trims old data at
# 5 MiB per partition, never offsets).
broker_count() {
    { kcat -b "$brokers" -C -t "${1:-order-created}" -o -1 -e -q -f '%o\n' 2>"$work/kcat.err" ||
        true; } | awk '{n += $1 + 1} END {print n + 0}'
}

# start_rss_sampler PID FILE: every 200 ms writes "peak-VmRSS VmHWM VmRSS"
# (kB) of PID to FILE until PID exits.
start_rss_sampler() {
    local pid=$1 file=$2
    (
        max=0
        while alive "$pid"; do
            read -r rss hwm < <(awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {print r + 0, h + 0}' \
                "/proc/$pid/status" 2>/dev/null || echo "0 0")
            [ "$rss" -gt "$max" ] && max=$rss
            [ "$hwm" -gt 0 ] && echo "$max $hwm $rss" >"$file.tmp" && mv "$file.tmp" "$file"
            sleep 0.2
        done
    ) &
    aux_pids+=($!)
}

mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# ---- callgrind (bench/callgrind_intake.sh, bench/callgrind_drain.sh) ---------------------

# cg_prepare SCRIPT BUILD BINARY...: dies (exit 2) unless valgrind and the
# tools the scripts use are installed; builds the release preset when BUILD
# is 1; sets bindir (build-release/bin unless set) and checks the binaries.
cg_prepare() {
    local script=$1 build=$2 t b
    shift 2
    for t in valgrind callgrind_control callgrind_annotate redis-server redis-cli curl kcat python3; do
        command -v "$t" >/dev/null || { echo "$script: $t not installed" >&2; exit 2; }
    done
    if [ "$build" -eq 1 ]; then
        log "building the release preset"
        (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j2 >/dev/null) ||
            { echo "$script: the release build failed" >&2; exit 3; }
    fi
    bindir=${bindir:-$root/build-release/bin}
    for b in "$@"; do
        [ -x "$bindir/$b" ] || { echo "$script: $bindir/$b not found; build first" >&2; exit 2; }
    done
}

# cg_zero PID: zeroes the counters of the process under callgrind.
cg_zero() { callgrind_control -z "$1" >>"$work/control.log" 2>&1 || die "callgrind_control -z failed"; }

# cg_dump PID NAME: dumps its counters; sets F to the new file.
cg_ndumps=0
cg_dump() {
    callgrind_control -d="$2" "$1" >>"$work/control.log" 2>&1 || die "callgrind_control -d failed"
    cg_ndumps=$((cg_ndumps + 1))
    F=$work/callgrind.out.$cg_ndumps
    wait_for "the $2 dump" 300 test -s "$F"
}

# cg_event NAME FILE: the total of event NAME (Ir, sysCount, sysTime) in FILE.
cg_event() {
    awk -v want="$1" '$1 == "events:" {for (i = 2; i <= NF; i++) col[$i] = i - 1}
        $1 == "totals:" || $1 == "summary:" {v = $(col[want] + 1)} END {print v + 0}' "$2"
}

# cg_vdso FILE: the clock_gettime / gettimeofday / time calls in FILE, which
# valgrind counts as system calls and the vDSO answers natively.
cg_vdso() {
    callgrind_annotate --inclusive=no --show=sysCount --sort=sysCount --threshold=100 "$1" 2>/dev/null |
        awk '$1 ~ /^[0-9,]+$/ && $0 ~ /:(clock_gettime|__gettimeofday_syscall|time_syscall)[@ ]/ {
            v = $1; gsub(",", "", v); n += v } END {print n + 0}'
}

# cg_annotate FILE EVENT MODE PER UNIT TOP [SKIP-REGEX]: callgrind_annotate's
# first TOP function lines of FILE by EVENT (MODE yes: inclusive, no: self),
# each with its share of the total and its count per unit of work (PER of
# them, named UNIT); the object's directory is dropped.
cg_annotate() {
    local tot
    tot=$(cg_event "$2" "$1")
    callgrind_annotate --inclusive="$3" --show="$2" --sort="$2" --threshold=100 "$1" 2>/dev/null |
        awk -v total="$tot" -v n="$6" -v per="$4" -v skip="${7:-^$}" -v unit="$2/$5" '
            /PROGRAM TOTALS/ {body = 1; next}
            body && $1 ~ /^[0-9,]+$/ && NF >= 2 && shown < n {
                v = $1; gsub(",", "", v)
                name = ""
                for (i = 2; i <= NF; i++) if ($i !~ /^\(|%\)$/) name = name (name == "" ? "" : " ") $i
                sub(/\[\/.*\//, "[", name)
                if (name ~ skip || v == 0) next
                printf "%6.2f %%  %10.1f %s  %s\n", 100 * v / total, v / per, unit, name
                shown++
            }'
}
