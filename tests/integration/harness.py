"""Integration test harness: the suite's real processes on 127.0.0.1.

A Stack starts redis-server and kafka-dev-broker on free ports, then the
daemons as separate processes talking to them over TCP, exactly as a user
runs them. Every process is tracked by PID and stopped in tearDown, SIGKILL
as the last resort. Nothing listens or connects outside 127.0.0.1.

Waiting is always polling for a condition with a deadline (wait_until),
never a bare sleep.
"""

import collections
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import warnings

# kafka-python (Debian's python3-kafka) vendors an old six that warns on
# import under Python 3.11; import it here, quietly, before unittest turns
# warnings on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import kafka  # noqa: F401

BIN = os.environ.get("EB_BIN_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")

# Under a tool such as valgrind (EB_TEST_WRAPPER) every program of ours runs
# several times slower: waits stretch by EB_TIME_SCALE. Timing assertions of
# the product itself use scaled() too, so they hold natively and under ASan
# and make allowance only under the tool.
WRAPPER = os.environ.get("EB_TEST_WRAPPER", "").split()
TIME_SCALE = float(os.environ.get("EB_TIME_SCALE", "1"))


# The contract's topics (sections 3, 9 and 10), written out here rather than
# read from the code: the dev broker, kafka-local and docker-compose must
# create exactly these.
SUITE_TOPICS = frozenset(
    ["order-created", "payment-processed", "payment-failed", "payment-refunded",
     "inventory-reserved", "inventory-insufficient", "inventory-released", "order-cancelled",
     "order-completed", "user-registered", "user-updated"] +
    [t + "-dlq" for t in ("order-created", "payment-processed", "payment-failed",
                          "payment-refunded", "inventory-reserved", "inventory-insufficient",
                          "order-cancelled", "order-completed", "user-registered")])


def scaled(seconds):
    return seconds * TIME_SCALE


def bin_argv(name, *args):
    """The command line that runs one of our executables (wrapped when asked)."""
    return WRAPPER + [os.path.join(BIN, name)] + list(args)

# Which broker the integration tests start (EB_TEST_BROKER): "dev" is
# kafka-dev-broker, librdkafka's mock cluster, in a process of its own;
# "kafka" is a real Apache Kafka cluster from kafka-local. The same test code
# runs on both. EB_KAFKA_CLUSTER names the state file of a kafka-local cluster
# that ctest started once for the whole real tier (kafka_cluster.py); without
# it each test class starts its own.
BROKER = os.environ.get("EB_TEST_BROKER", "dev")
if BROKER not in ("dev", "kafka"):
    raise SystemExit("EB_TEST_BROKER must be dev or kafka, not %r" % BROKER)
REAL_KAFKA = BROKER == "kafka"
SHARED_CLUSTER = os.environ.get("EB_KAFKA_CLUSTER") if REAL_KAFKA else None

# Test-friendly client settings (docs/mock-cluster.md): short session
# timeouts so rebalances take seconds and fast reconnects. The mock does not
# wake a waiting fetch, so on it fetches wait 10 ms at most; a real broker
# answers a waiting fetch as soon as data arrives, so there librdkafka's
# default stands, as in production.
CLIENT_PROPERTIES = """\
consumer.session.timeout.ms=6000
consumer.heartbeat.interval.ms=1000
reconnect.backoff.max.ms=1000
""" + ("" if REAL_KAFKA else "consumer.fetch.wait.max.ms=10\n")


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_ports(pid):
    """The TCP ports process pid listens on at 127.0.0.1, sorted, as the
    kernel tells it: the socket inodes among /proc/<pid>/fd matched against
    the LISTEN (state 0A) entries of /proc/<pid>/net/tcp. [] when there are
    none yet or the process is gone."""
    inodes = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
        with open("/proc/%d/net/tcp" % pid) as f:
            table = f.read().splitlines()[1:]
    except OSError:
        return []
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue  # closed since the listing
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    ports = set()
    for line in table:
        # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        f = line.split()
        if len(f) < 10 or f[3] != "0A" or f[9] not in inodes:
            continue
        addr, port = f[1].split(":")
        # The address is the kernel's 32-bit word in hex, in host byte order.
        if socket.inet_ntoa(struct.pack("=I", int(addr, 16))) == "127.0.0.1":
            ports.add(int(port, 16))
    return sorted(ports)


def control_command(path, line, timeout):
    """Sends one line to a broker's control socket (kafka-dev-broker or
    kafka-local) at path; returns the answer line ("ok", "ok <value>" or
    "error: ...")."""
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(timeout)
        c.connect(path)
        c.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = c.recv(256)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


def child_pids(pid):
    """PIDs of the processes whose parent is pid (kafka-local's JVMs)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().split(")")[-1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def gone(pid):
    """True when pid has exited (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


class Abort(Exception):
    """Raised by a wait_until predicate to stop waiting at once."""


def wait_until(what, predicate, timeout=30.0, interval=0.1):
    """Polls predicate until it returns a truthy value; fails after timeout.
    An exception from predicate counts as "not yet", except Abort."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Abort as e:
            raise AssertionError("gave up waiting for %s: %s" % (what, e))
        except Exception as e:  # the condition may raise while not yet true
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


class Proc:
    """One started process with its log file."""

    def __init__(self, name, argv, env, log_path, stdout=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, env=env, stdout=stdout or self.log, stderr=self.log,
                                      stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        self.crashed = False  # set when a test kills it on purpose

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        """The JSON log lines the process wrote so far."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns (exit code, seconds taken)."""
        timeout = scaled(timeout)
        start = time.monotonic()
        self.signal(signal.SIGCONT)  # in case a test paused it
        self.signal(signal.SIGTERM)
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            rc = self.popen.wait()
        self.log.close()
        return rc, time.monotonic() - start

    def kill(self):
        """SIGKILL, as a crash would; its exit code is not checked later."""
        self.crashed = True
        if self.alive():
            self.popen.kill()
        self.popen.wait()
        self.log.close()


class Stack:
    """Redis, the dev broker and any daemons, for one test class."""

    def __init__(self, brokers=None, partitions=None):
        """brokers, partitions: kafka-dev-broker flags; None keeps its defaults."""
        self.dir = tempfile.mkdtemp(prefix="eventbus-it-")
        self.procs = []
        self.brokers = brokers
        self.partitions = partitions
        self.redis = None
        self.broker = None
        self.bootstrap = None
        self.control = None  # the broker's control socket, with start_broker(control=True)
        self.redis_port = None
        self.props = os.path.join(self.dir, "client.properties")
        with open(self.props, "w") as f:
            f.write(CLIENT_PROPERTIES)

    # ---- infrastructure ----------------------------------------------------

    def start_redis(self, port=None):
        for _ in range(5):
            self.redis_port = port or free_port()
            p = self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--dir", self.dir], env=os.environ.copy())
            def ours():
                # The port was only free a moment ago: another test's server
                # may have taken it, and would answer PING just the same.
                if not p.alive():
                    raise Abort("redis-server exited: %s" % p.log_text()[-300:])
                return "process_id:%d" % p.pid in self.redis_cli("INFO", "server")

            try:
                wait_until("redis to answer", ours, 10)
                self.redis = p
                return p
            except AssertionError:
                p.kill()
                if port:
                    raise
        raise AssertionError("could not start redis-server")

    def redis_cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis_port)]
                             + [str(a) for a in args], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip()

    def order_statuses(self, ids):
        """{orderId: status} straight from Redis, in one pipeline."""
        ids = list(ids)
        script = "".join("HGET order:%s status\n" % oid for oid in ids)
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis_port)],
                             input=script, capture_output=True, text=True, timeout=30)
        return dict(zip(ids, out.stdout.splitlines()))

    def redis_url(self):
        return "redis://127.0.0.1:%d/0" % self.redis_port

    def start_broker(self, control=False):
        """Starts the broker EB_TEST_BROKER selects, or takes the shared
        kafka-local cluster and resets it. control: open the fault-injection
        socket (broker_command); a kafka-local cluster always has one."""
        if REAL_KAFKA and SHARED_CLUSTER:
            return self._shared_cluster()
        out_path = os.path.join(self.dir, "broker.out")
        out = open(out_path, "wb")
        if REAL_KAFKA:
            # A three-node cluster unless a test asks otherwise: the size
            # where a broker can be lost without losing acks=all writes.
            # Not under EB_TEST_WRAPPER: it supervises JVMs, not our code.
            argv = [os.path.join(BIN, "kafka-local"), "--brokers", str(self.brokers or 3)]
        else:
            argv = bin_argv("kafka-dev-broker")
            if self.brokers:
                argv += ["--brokers", str(self.brokers)]
        if self.partitions:
            argv += ["--partitions", str(self.partitions)]
        if control or REAL_KAFKA:
            self.control = os.path.join(self.dir, "control.sock")
            argv += ["--control", self.control]
        p = self._spawn("broker", argv, env=os.environ.copy(), stdout=out)
        out.close()

        def first_line():
            with open(out_path) as f:
                line = f.readline()
            if not line and not p.alive():
                raise Abort("%s exited: %s" % (argv[0], p.log_text()[-2000:]))
            return line.strip() if line.endswith("\n") else None

        # A JVM cluster takes seconds where the mock takes milliseconds.
        self.bootstrap = wait_until("broker bootstrap line", first_line, 180 if REAL_KAFKA else 10)
        self.broker = p
        return p

    def _shared_cluster(self):
        """The real tier's one cluster: every node up and in sync, every
        record and consumer group of earlier tests deleted."""
        with open(SHARED_CLUSTER) as f:
            state = json.load(f)
        if self.brokers and self.brokers != state["brokers"] or \
                self.partitions and self.partitions != state["partitions"]:
            raise AssertionError("the shared cluster has %d brokers and %d partitions; this test "
                                 "wants %r and %r" % (state["brokers"], state["partitions"],
                                                      self.brokers, self.partitions))
        self.bootstrap = state["bootstrap"]
        self.control = state["control"]
        answer = self.broker_command("reset", timeout=300)
        if answer != "ok":
            raise AssertionError("resetting the shared cluster: %s" % answer)
        return None

    def broker_command(self, line, timeout=None):
        """Sends one line to the broker's control socket; returns the answer
        line ("ok" or "error: ..."). On kafka-local a command has real effects
        and may take a while (up: a JVM starts and rejoins)."""
        return control_command(self.control, line, timeout or (240 if REAL_KAFKA else 10))

    def start_infra(self):
        self.start_redis()
        self.start_broker()

    # ---- daemons -----------------------------------------------------------

    def env(self, **extra):
        env = os.environ.copy()
        for k in list(env):
            if k.startswith(("KAFKA_", "REDIS_", "HTTP_", "ADMIN_", "PAYMENT_", "NOTIFY_",
                             "RETRY_", "LOG_", "INSTANCE_ID", "OUTBOX_", "CONSUMER_",
                             "INVENTORY_")):
                del env[k]
        env.update({
            "KAFKA_BROKERS": self.bootstrap or "127.0.0.1:1",
            "KAFKA_CONFIG_FILE": self.props,
            "REDIS_URL": self.redis_url() if self.redis_port else "redis://127.0.0.1:1/0",
            "BIND_ADDRESS": "127.0.0.1",
            "LOG_LEVEL": "debug",
        })
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def start_daemon(self, binary, name=None, **env):
        name = name or binary
        env.setdefault("INSTANCE_ID", name)
        if binary in ("order-service", "inventory-service", "user-service"):
            env.setdefault("HTTP_PORT", 0)
        else:
            env.setdefault("ADMIN_PORT", 0)
        p = self._spawn(name, bin_argv(binary), env=self.env(**env))

        def listening():
            # HTTP_PORT/ADMIN_PORT 0: the daemon picks a free port (and logs
            # it); ask the kernel which one it listens on.
            ports = listening_ports(p.pid)
            if not ports and not p.alive():
                raise Abort("%s exited with %s: %s" % (name, p.popen.returncode, p.log_text()))
            if len(ports) > 1:
                raise Abort("%s listens on %s; expected one port" % (name, ports))
            return ports

        p.port = wait_until("%s to listen on 127.0.0.1" % name, listening, 15)[0]
        p.url = "http://127.0.0.1:%d" % p.port
        return p

    def start_order(self, name="order-service", **env):
        return self.start_daemon("order-service", name, **env)

    def start_payment(self, name="payment-1", **env):
        return self.start_daemon("payment-service", name, **env)

    def start_inventory(self, name="inventory-service", **env):
        return self.start_daemon("inventory-service", name, **env)

    def start_user(self, name="user-service", **env):
        return self.start_daemon("user-service", name, **env)

    def start_notification(self, name="notification-service", **env):
        env.setdefault("NOTIFY_FILE", os.path.join(self.dir, "notifications.jsonl"))
        p = self.start_daemon("notification-service", name, **env)
        p.notify_file = env["NOTIFY_FILE"]
        return p

    def wait_ready(self, proc, timeout=30):
        return wait_until("%s /ready" % proc.name,
                          lambda: http("GET", proc.url + "/ready")[0] == 200, timeout, 0.2)

    def wait_assigned(self, proc, timeout=45):
        """Waits until proc logged a partition assignment (it joined its group)."""
        return wait_until("%s to be assigned partitions" % proc.name,
                          lambda: any("partitions assigned" in l.get("msg", "")
                                      for l in proc.log_lines()), timeout, 0.2)

    # ---- Kafka helpers (kafka-python, an independent client) -----------------

    def kafka_records(self, topic, timeout=20):
        """Every record of topic from the beginning to its end now: dicts with
        partition, offset, timestamp, key (str), value (str), raw (value
        bytes), raw_key (key bytes or None) and headers ({name: bytes}, the
        last value of each name) and header_list (every (name, bytes) in order)."""
        from kafka import KafkaConsumer, TopicPartition
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                          group_id=None, request_timeout_ms=timeout * 1000 + 1000)
        try:
            parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
            if not parts:
                return []
            c.assign(parts)
            c.seek_to_beginning(*parts)
            end = c.end_offsets(parts)
            records = []
            deadline = time.monotonic() + timeout
            while any(c.position(tp) < end[tp] for tp in parts):
                if time.monotonic() > deadline:
                    raise AssertionError("timed out reading %s" % topic)
                for tp, recs in c.poll(timeout_ms=500).items():
                    for r in recs:
                        if r.offset >= end[tp]:
                            continue
                        records.append({
                            "partition": r.partition, "offset": r.offset,
                            "timestamp": r.timestamp,
                            "key": (r.key or b"").decode("utf-8", "replace"),
                            "raw": r.value or b"", "raw_key": r.key,
                            "value": (r.value or b"").decode("utf-8", "replace"),
                            "headers": {k: v for k, v in r.headers},
                            "header_list": list(r.headers)})
            return records
        finally:
            c.close()

    def groups_caught_up(self, groups):
        """True when every group of groups ({group: [topics]}) has committed
        the end offset of every partition of its topics: everything it was
        given is handled, and what that caused is on its topics (a consumer
        commits an offset only after its outputs were acknowledged)."""
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            for group, topics in groups.items():
                parts = [TopicPartition(t, p) for t in topics
                         for p in sorted(c.partitions_for_topic(t) or [])]
                # Partitions named: the mock cluster cannot answer "all".
                committed = admin.list_consumer_group_offsets(group, partitions=parts)
                # A partition whose records were all deleted (the shared
                # cluster's reset) has nothing to handle: its end is its start.
                begin = c.beginning_offsets(parts)
                for tp, end in c.end_offsets(parts).items():
                    done = committed.get(tp)
                    if end > begin[tp] and (done is None or done.offset < end):
                        return False
            return True
        finally:
            c.close()
            admin.close()

    def kafka_produce(self, topic, key, value, headers=(), partition=None):
        """Produces one record and returns (partition, offset, timestamp)."""
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            md = p.send(topic, key=key.encode() if isinstance(key, str) else key,
                        value=value.encode() if isinstance(value, str) else value,
                        headers=[(k, v.encode() if isinstance(v, str) else v)
                                 for k, v in headers],
                        partition=partition).get(timeout=20)
            return md.partition, md.offset, md.timestamp
        finally:
            p.close()

    def kafka_produce_batch(self, topic, records):
        """Produces records [(key, value, partition)] as one record batch per
        partition, so that one fetch brings them all (the mock cluster
        answers a fetch with one batch per partition). Returns (partition,
        offset) of each."""
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=500,
                          batch_size=1 << 20, max_request_size=1 << 22)
        try:
            futures = [p.send(topic, key=k.encode(), value=v.encode() if isinstance(v, str)
                              else v, partition=q) for k, v, q in records]
            p.flush(30)
            return [(m.partition, m.offset) for m in (f.get(timeout=30) for f in futures)]
        finally:
            p.close()

    def fault_env(self, fault_dir):
        """The environment that preloads fault.c into a daemon, with its
        triggers in fault_dir."""
        asan = os.environ.get("ASAN_OPTIONS")
        return {"LD_PRELOAD": os.environ["EB_FAULT_LIB"], "EB_FAULT_DIR": fault_dir,
                # ASan wants its runtime first among the libraries.
                "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}

    # ---- lifecycle ---------------------------------------------------------------

    def _spawn(self, name, argv, env, stdout=None):
        log = os.path.join(self.dir, "%s.log" % name)
        p = Proc(name, argv, env, log, stdout)
        self.procs.append(p)
        return p

    def stop(self):
        """Stops every process still running, daemons before infrastructure.
        Returns {name: exit code} of the processes that did not exit 0 (a
        leak report under ASan, a crash, a hang), except those a test killed."""
        bad = {}
        infra = [p for p in (self.broker, self.redis) if p]
        for p in [p for p in self.procs if p not in infra] + infra:
            if p.alive():
                rc, _ = p.stop()
            else:
                rc = p.popen.returncode
                if not p.log.closed:
                    p.log.close()
            if rc != 0 and not p.crashed:
                bad[p.name] = rc
        return bad

    def dump_logs(self):
        for p in self.procs:
            try:
                text = p.log_text()
            except OSError:
                continue
            print("----- %s (pid %d) -----\n%s" % (p.name, p.pid, text[-6000:]))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers, parsed JSON body or text)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def order_body(user="u1", qty=2, price=50, currency=None, items=None):
    body = {"userId": user, "items": items or [{"productId": "p1", "quantity": qty,
                                                 "price": price}]}
    if currency:
        body["currency"] = currency
    return body


TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def trace_span(value):
    """(trace id, span id) of a version-00 traceparent (str or bytes); None if
    it is not one."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    m = TRACEPARENT_RE.match(value or "")
    return (m.group(1), m.group(2)) if m else None


def is_child_span(value, parent):
    """value is a traceparent of parent's trace with a span of its own: what a
    hop sends on after receiving parent (W3C trace context, one span a hop)."""
    mine, theirs = trace_span(value), trace_span(parent)
    return bool(mine and theirs and mine[0] == theirs[0] and mine[1] != theirs[1])


def cloud_event(type_, subject, data, source="/test", id_=None, correlation=None, cause=None):
    """A CloudEvent as the suite's services publish it (contract section 3),
    for tests that play a service: returns (id, JSON text)."""
    import uuid
    eid = id_ or str(uuid.uuid4())
    ev = {"specversion": "1.0", "id": eid, "source": source, "type": type_,
          "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
          "datacontenttype": "application/json", "subject": subject,
          "correlationid": correlation or eid, "causationid": cause or correlation or eid,
          "data": data}
    return eid, json.dumps(ev, separators=(",", ":"))


def read_notifications(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


class StackTestCase(unittest.TestCase):
    """Base class: one Stack per test class, logs printed when a test fails.

    A subclass defines start(cls, stack), which starts what its tests need,
    and stack_args if its Stack needs flags (brokers, partitions)."""

    stack = None
    stack_args = {}

    @classmethod
    def start(cls, stack):
        raise NotImplementedError("%s must define start(cls, stack)" % cls.__name__)

    @classmethod
    def setUpClass(cls):
        """Sets cls.stack and runs start. On failure prints the logs, stops
        what started and re-raises (tearDownClass does not run then)."""
        stack = cls.stack = Stack(**cls.stack_args)
        try:
            cls.start(stack)
        except Exception:
            stack.dump_logs()
            stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        if not cls.stack:
            return
        bad = cls.stack.stop()
        if bad:
            cls.stack.dump_logs()
            raise AssertionError("processes did not exit cleanly: %r" % bad)
        cls.stack.cleanup()

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures and self.stack:
            self.stack.dump_logs()
        return out


class Stream(threading.Thread):
    """Posts orders at a steady rate; remembers every one answered 201."""

    def __init__(self, url_fn, rate=40):
        super().__init__(daemon=True)
        self.url_fn = url_fn
        self.interval = 1.0 / rate
        self.accepted = {}  # orderId -> expected final status
        self.answers = collections.Counter()
        self.slow = []  # (seconds, status) of answers slower than 2 s
        self.stopped = threading.Event()

    def run(self):
        i = 0
        while not self.stopped.is_set():
            i += 1
            price = 20000 if i % 10 == 0 else 10 + i % 7  # every 10th is declined
            start = time.monotonic()
            try:
                status, _, body = http("POST", self.url_fn() + "/orders",
                                       order_body("stream-%d" % i, 1, price), timeout=5)
            except OSError:
                status, body = "conn-error", None
            took = time.monotonic() - start
            self.answers[status] += 1
            if took > scaled(2):
                self.slow.append((took, status))
            if status == 201:
                self.accepted[body["orderId"]] = "PAID" if price <= 10000 else "PAYMENT_FAILED"
            self.stopped.wait(max(0, self.interval - took))

    def stop(self):
        self.stopped.set()
        self.join()


class Invariants:
    """The checks every fault test ends with."""

    def check_everything_settles_once(self, accepted, timeout=120):
        """Every accepted order reaches its expected status through exactly
        one payment decision, every event of those orders is notified exactly
        once, and nothing valid is dead-lettered. Uses self.stack,
        self.order and self.notify_file."""
        s = self.stack
        url = self.order.url

        def settled():
            return "PENDING" not in s.order_statuses(accepted).values() or None
        wait_until("every accepted order to be decided", settled, timeout, 1.0)
        statuses = s.order_statuses(accepted)
        for oid, expected in accepted.items():
            self.assertEqual(statuses[oid], expected, oid)
        # And through the API, for a sample.
        for oid in list(accepted)[:20]:
            self.assertEqual(http("GET", url + "/orders/" + oid)[2]["status"], accepted[oid])

        # One decision per order: one distinct payment event id per order
        # (a record may be published twice after a crash, with the same id).
        decisions = collections.defaultdict(set)
        for topic in ("payment-processed", "payment-failed"):
            for r in s.kafka_records(topic):
                decisions[r["key"]].add(json.loads(r["value"])["id"])
        for oid in accepted:
            self.assertEqual(len(decisions[oid]), 1, "order %s decided %d times" %
                             (oid, len(decisions[oid])))

        # Exactly one notification per event, two per accepted order.
        path = self.notify_file

        def notified():
            counts = collections.Counter(n["orderId"] for n in read_notifications(path))
            return all(counts[oid] >= 2 for oid in accepted) or None
        wait_until("two notifications per accepted order", notified, timeout, 1.0)
        notes = read_notifications(path)
        per_event = collections.Counter(n["eventId"] for n in notes)
        dup = [e for e, c in per_event.items() if c > 1]
        self.assertEqual(dup, [], "events notified more than once")
        per_order = collections.Counter(n["orderId"] for n in notes)
        for oid in accepted:
            self.assertEqual(per_order[oid], 2, oid)

        # No dead letters for valid orders.
        for topic in ("order-created-dlq", "payment-processed-dlq", "payment-failed-dlq"):
            self.assertEqual([r["key"] for r in s.kafka_records(topic)
                              if r["key"] in accepted], [], topic)


