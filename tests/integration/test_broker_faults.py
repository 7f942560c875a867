"""Broker faults that only a real cluster has, under a steady stream of orders.

On a three-node kafka-local cluster (RF 3, min.insync.replicas 2), while
orders arrive at a steady rate:

- kill -9 of the broker leading partition 0 of order-created, then its restart;
- kill -9 of the active KRaft controller;
- a rolling restart of all three (graceful stop, start, full ISR, next);
- two of three down, below min.insync.replicas: intake keeps answering 201
  and nothing is published until a broker returns, then everything flows.

Each ends with the usual invariants (every accepted order decided exactly
once, every event notified exactly once, nothing valid in a DLQ) and prints
how long the flow took to recover: from the fault until an order posted
after it was decided. Real Kafka only (EB_TEST_BROKER=kafka).
"""

import collections
import json
import subprocess
import threading
import time
import unittest

from harness import (REAL_KAFKA, Invariants, StackTestCase, Stream, http, order_body, scaled,
                     wait_until)

# Short leases so that work a dead or fenced-off member held is taken over
# within seconds, as in the chaos test.
FAST = {"IDEMPOTENCY_LEASE_MS": 3000, "OUTBOX_CLAIM_IDLE_MS": 3000}


@unittest.skipUnless(REAL_KAFKA, "broker faults need a real cluster (EB_TEST_BROKER=kafka)")
class BrokerFaultTest(StackTestCase, Invariants):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(**FAST)
        cls.pay = [s.start_payment("payment-1", **FAST), s.start_payment("payment-2", **FAST)]
        cls.notify = s.start_notification("notify", **FAST)
        cls.notify_file = cls.notify.notify_file
        for p in [cls.order, cls.notify] + cls.pay:
            s.wait_assigned(p)
        s.wait_ready(cls.order)
        cls.recovery = {}

    @classmethod
    def tearDownClass(cls):
        if cls.stack and cls.recovery:
            print("\nrecovery:\n" + "\n".join("  %s: %s %.1fs" % (k, w, t)
                                                for k, (w, t) in cls.recovery.items()))
        super().tearDownClass()

    # ---- helpers ---------------------------------------------------------------

    def command(self, line):
        answer = self.stack.broker_command(line)
        self.assertTrue(answer.startswith("ok"), "%s -> %s" % (line, answer))
        return answer

    def metadata(self):
        """The cluster's metadata as kcat (an independent client) sees it."""
        out = subprocess.run(["kcat", "-b", self.stack.bootstrap, "-L", "-J", "-m", "5"],
                             capture_output=True, text=True, timeout=30)
        return json.loads(out.stdout)

    def leader_of(self, topic, partition):
        for t in self.metadata()["topics"]:
            if t["topic"] == topic:
                return [p["leader"] for p in t["partitions"] if p["partition"] == partition][0]
        raise AssertionError("no topic %s" % topic)

    def isr_full(self):
        md = self.metadata()
        return all(len(p["isrs"]) == len(p["replicas"]) for t in md["topics"]
                   if not t["topic"].startswith("__") for p in t["partitions"])

    def wait_isr_full(self, timeout=120):
        wait_until("every replica back in sync", self.isr_full, timeout, 1.0)

    def under_stream(self, name, fault):
        """Runs fault(probe) during a stream of orders and a probe, then the
        invariants. fault returns (what, seconds) for the recovery table."""
        stream = Stream(lambda: self.order.url, rate=25)
        probe = Probe(lambda: self.order.url, self.stack)
        stream.start()
        probe.start()
        try:
            wait_until("the stream to flow", lambda: len(stream.accepted) > 20, 30, 0.2)
            wait_until("the probe to see a decision", lambda: probe.decided(), 30, 0.2)
            what, seconds = fault(probe)
            BrokerFaultTest.recovery[name] = (what, seconds)
            time.sleep(2)
        finally:
            stream.stop()
            probe.stop()
        self.assertEqual(set(stream.answers) | set(probe.answers), {201},
                         "intake refused orders: %r %r" % (stream.answers, probe.answers))
        accepted = dict(stream.accepted)
        accepted.update({oid: "PAID" for oid, _, _ in probe.orders})
        self.wait_isr_full()
        self.check_everything_settles_once(accepted, timeout=180)

    # ---- the faults ------------------------------------------------------------

    def test_a_leader_killed_and_restarted(self):
        # The cluster as the contract creates it: RF 3 on three nodes.
        for t in self.metadata()["topics"]:
            if not t["topic"].startswith("__"):
                for p in t["partitions"]:
                    self.assertEqual(len(p["replicas"]), 3, (t["topic"], p))
        # Move the leadership first (control "leader"), so the kill below
        # takes down a leader chosen on purpose.
        target = self.leader_of("order-created", 0) % 3 + 1
        self.command("leader order-created 0 %d" % target)
        self.assertEqual(self.leader_of("order-created", 0), target)

        def fault(probe):
            victim = self.leader_of("order-created", 0)
            t = time.monotonic()
            self.command("down %d" % victim)
            wait_until("a new leader for order-created[0]",
                       lambda: self.leader_of("order-created", 0) not in (victim, -1), 60, 0.5)
            back = wait_until("an order posted after the kill decided",
                              lambda: probe.first_decided_after(t), 120, 0.2)
            self.command("up %d" % victim)
            return "kill -> flowing", back - t
        self.under_stream("leader kill -9", fault)

    def test_b_active_controller_killed(self):
        def fault(probe):
            victim = int(self.command("controller").split()[1])
            t = time.monotonic()
            self.command("down %d" % victim)
            wait_until("another active controller",
                       lambda: int(self.command("controller").split()[1]) != victim, 60, 1.0)
            back = wait_until("an order posted after the kill decided",
                              lambda: probe.first_decided_after(t), 120, 0.2)
            self.command("up %d" % victim)
            return "kill -> flowing", back - t
        self.under_stream("controller kill -9", fault)

    def test_c_rolling_restart(self):
        def fault(probe):
            t = time.monotonic()
            for node in (1, 2, 3):
                self.command("stop %d" % node)
                self.command("up %d" % node)
                self.wait_isr_full()
            end = time.monotonic()
            wait_until("the probes of the roll decided", lambda: probe.all_decided(t, end), 120)
            print("\nrolling restart took %.1fs" % (end - t))
            return "longest wait of an order posted during the roll", probe.max_wait(t, end)
        self.under_stream("rolling restart", fault)

    def test_d_two_of_three_down(self):
        def fault(probe):
            self.command("down 2")
            self.command("down 3")
            # Two voters of three gone: no controller quorum, no leader
            # election, and no partition can meet min.insync.replicas, so
            # acks=all publishes nothing, while intake keeps answering 201
            # from Redis and the outbox grows.
            t = time.monotonic() + 1  # what was in flight before the kill settles
            wait_until("probes accepted during the outage",
                       lambda: len([1 for _, posted, _ in probe.orders if posted > t]) >= 20,
                       60, 0.5)
            self.assertIsNone(probe.first_decided_after(t),
                              "an order was decided below min.insync.replicas")
            status, _, text = http("GET", self.order.url + "/metrics")
            pending = [float(l.split()[-1]) for l in text.splitlines()
                       if l.startswith("outbox_pending")]
            self.assertTrue(pending and pending[0] > 50, "outbox_pending %r" % pending)
            self.command("up 2")  # answered once it serves again
            up = time.monotonic()
            back = wait_until("an order decided once a broker is back",
                              lambda: probe.first_decided_after(t), 120, 0.2)
            self.command("up 3")
            return "first broker back -> flowing", back - up
        self.under_stream("two of three down", fault)

    def test_e_sigterm_with_every_broker_down(self):
        # Last: stops the daemons. With no coordinator to leave the group
        # with, they hung for ever in rd_kafka_consumer_close/commit.
        self.command("down all")
        for p in [self.notify, self.order] + self.pay:
            rc, took = p.stop(timeout=30)
            print("\n%s stopped in %.1fs with every broker down" % (p.name, took))
            self.assertEqual(rc, 0, "%s exited %s" % (p.name, rc))
            self.assertLess(took, scaled(10.0), "%s took %.1fs to stop" % (p.name, took))
        self.command("up all")


class Probe(threading.Thread):
    """Posts an order every half second and watches when each is decided
    (its status in Redis leaves PENDING): orders = [(id, posted, decided)]."""

    def __init__(self, url_fn, stack):
        super().__init__(daemon=True)
        self.url_fn, self.stack = url_fn, stack
        self.orders = []
        self.answers = collections.Counter()
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.stopped.wait(0.5):
            try:
                status, _, o = http("POST", self.url_fn() + "/orders", order_body("probe", 1, 10),
                                    timeout=5)
            except OSError:
                status, o = "conn-error", None
            self.answers[status] += 1
            now = time.monotonic()
            with self.lock:
                if status == 201:
                    self.orders.append([o["orderId"], now, None])
                pending = [e for e in self.orders if e[2] is None]
            if pending:
                statuses = self.stack.order_statuses([e[0] for e in pending])
                now = time.monotonic()
                with self.lock:
                    for e in pending:
                        if statuses.get(e[0]) not in (None, "", "PENDING"):
                            e[2] = now

    def stop(self):
        self.stopped.set()
        self.join()

    def decided(self):
        with self.lock:
            return any(e[2] for e in self.orders)

    def first_decided_after(self, t):
        """When the first order posted after t was decided, or None."""
        with self.lock:
            times = [e[2] for e in self.orders if e[1] >= t and e[2]]
        return min(times) if times else None

    def all_decided(self, t0, t1):
        with self.lock:
            return all(e[2] for e in self.orders if t0 <= e[1] <= t1)

    def max_wait(self, t0, t1):
        with self.lock:
            return max((e[2] - e[1] for e in self.orders if t0 <= e[1] <= t1 and e[2]),
                       default=0.0)


if __name__ == "__main__":
    unittest.main()
