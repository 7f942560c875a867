"""The real-Kafka tier's shared cluster, as a ctest fixture.

    kafka_cluster.py start STATE_DIR   starts kafka-local --brokers 3 in the
                                       background and writes STATE_DIR/cluster.json
    kafka_cluster.py stop STATE_DIR    stops it (SIGTERM, by PID) and checks
                                       that every JVM it started is gone

Starting three JVMs takes longer than most tests, so the suites labelled
"kafka" share one cluster (ctest FIXTURES_SETUP / FIXTURES_CLEANUP) and run
one at a time (RESOURCE_LOCK); each test class starts with the control
socket's "reset" (every node up and in sync, every record and consumer group
of the tests before deleted), which takes a fraction of a second. A test
that kills brokers leaves the cluster to that reset to mend.
"""

import json
import os
import signal
import subprocess
import sys
import time

from harness import child_pids, gone

BIN = os.environ.get("EB_BIN_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
BROKERS = int(os.environ.get("EB_KAFKA_BROKERS", "3"))


def alive(pid):
    return not gone(pid)


def start(state_dir):
    os.makedirs(state_dir, exist_ok=True)
    state_file = os.path.join(state_dir, "cluster.json")
    if os.path.exists(state_file):
        stop(state_dir)  # a cluster left by an interrupted run
    control = os.path.join(state_dir, "control.sock")
    out_path = os.path.join(state_dir, "kafka-local.out")
    log_path = os.path.join(state_dir, "kafka-local.log")
    argv = [os.path.join(BIN, "kafka-local"), "--brokers", str(BROKERS), "--control", control]
    with open(out_path, "wb") as out, open(log_path, "wb") as log:
        # A session of its own: it outlives this script, and ctest's
        # process-group kill on a timeout does not reach it.
        p = subprocess.Popen(argv, stdout=out, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        with open(out_path) as f:
            line = f.readline()
        if line.endswith("\n"):
            break
        if p.poll() is not None:
            sys.stdout.write(open(log_path).read()[-4000:])
            raise SystemExit("kafka-local exited with %s before it was ready" % p.returncode)
        time.sleep(0.2)
    else:
        p.terminate()  # SIGTERM: it stops its JVMs and removes its data
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
        raise SystemExit("kafka-local was not ready within 240 s")
    state = {"bootstrap": line.strip(), "control": control, "pid": p.pid, "brokers": BROKERS,
             "partitions": 6}
    with open(state_file, "w") as f:
        json.dump(state, f)
    for l in open(log_path):
        if '"Apache Kafka' in l:
            print(json.loads(l)["msg"])


def stop(state_dir):
    state_file = os.path.join(state_dir, "cluster.json")
    if not os.path.exists(state_file):
        print("no cluster to stop (it did not start)")
        return
    with open(state_file) as f:
        state = json.load(f)
    pid = state["pid"]
    jvms = child_pids(pid)
    if alive(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 60
    while (alive(pid) or any(alive(j) for j in jvms)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [j for j in [pid] + jvms if alive(j)]
    for j in left:
        try:
            os.kill(j, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.unlink(state_file)
    if left:
        raise SystemExit("still running 60 s after SIGTERM, killed: %r" % left)
    print("kafka-local (pid %d) and its %d JVMs stopped" % (pid, len(jvms)))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit("usage: kafka_cluster.py start|stop STATE_DIR")
    {"start": start, "stop": stop}[sys.argv[1]](sys.argv[2])
