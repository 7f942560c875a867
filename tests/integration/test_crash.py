"""Crashes and outages in the middle of a stream of orders lose nothing and
double nothing.

A steady stream of POST /orders runs while the test kill -9s a payment
instance, notification-service and order-service (restarting each), or
pauses Redis with SIGSTOP. Afterwards: every accepted order (every 201) is
decided exactly once, every event is notified exactly once, and nothing valid
went to a dead-letter topic. The time each consumer took to resume is printed.
"""

import json
import os
import re
import signal
import time
import unittest

from harness import Invariants, StackTestCase, Stream, http, order_body, wait_until

FAST = {"IDEMPOTENCY_LEASE_MS": 3000, "OUTBOX_CLAIM_IDLE_MS": 3000}


def first_log_after(proc, t0, needle):
    """Seconds from wall-clock t0 to the first log line of proc containing
    needle, or None."""
    for l in proc.log_lines():
        if needle in l.get("msg", ""):
            ts = time.mktime(time.strptime(l["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            ts += int(l["time"][20:23]) / 1000
            if ts >= t0:
                return ts - t0
    return None


class KillTest(StackTestCase, Invariants):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(INSTANCE_ID="order-1", **FAST)
        cls.order_port = cls.order.port
        cls.pay = [s.start_payment("payment-1", **FAST), s.start_payment("payment-2", **FAST)]
        cls.notify = s.start_notification(**FAST)
        cls.notify_file = cls.notify.notify_file
        for p in [cls.order, cls.notify] + cls.pay:
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def test_kill_9_and_restart_each_daemon_mid_stream(self):
        s = self.stack
        stream = Stream(lambda: self.order.url)
        stream.start()
        report = []
        try:
            time.sleep(3)  # the stream runs; then the faults, one after another

            t0 = time.time()
            self.pay[0].kill()
            restarted = s.start_payment("payment-1b", **FAST)
            wait_until("the restarted payment instance to join",
                       lambda: "partitions assigned" in restarted.log_text(), 60, 0.5)
            report.append("payment-service kill -9: replacement assigned after %.1fs"
                          % first_log_after(restarted, t0, "partitions assigned"))
            time.sleep(2)

            t0 = time.time()
            self.notify.kill()
            KillTest.notify = s.start_notification("notification-2", NOTIFY_FILE=self.notify_file,
                                                   **FAST)
            wait_until("notification-service to rejoin",
                       lambda: "notification written" in self.notify.log_text(), 60, 0.5)
            report.append("notification-service kill -9: writing again after %.1fs"
                          % first_log_after(self.notify, t0, "notification written"))
            time.sleep(2)

            t0 = time.time()
            self.order.kill()
            KillTest.order = s.start_order("order-service-2", INSTANCE_ID="order-1",
                                           HTTP_PORT=self.order_port, **FAST)
            s.wait_ready(self.order)
            report.append("order-service kill -9: ready again after %.1fs" % (time.time() - t0))
            time.sleep(3)
        finally:
            stream.stop()
        print("\n" + "\n".join(report) + "\nanswers: %r" % dict(stream.answers))
        self.assertGreater(len(stream.accepted), 100)
        self.check_everything_settles_once(stream.accepted)


class RedisPauseTest(StackTestCase, Invariants):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(**FAST)
        cls.pay = s.start_payment("payment-1", **FAST)
        cls.notify = s.start_notification(**FAST)
        cls.notify_file = cls.notify.notify_file
        for p in (cls.order, cls.pay, cls.notify):
            s.wait_assigned(p)
        s.wait_ready(cls.order)
        s.wait_ready(cls.pay)

    def test_redis_paused_mid_stream(self):
        s = self.stack
        stream = Stream(lambda: self.order.url)
        stream.start()
        try:
            time.sleep(3)
            s.redis.signal(signal.SIGSTOP)
            t0 = time.monotonic()
            # Consumers report not-ready while Redis does not answer.
            wait_until("payment-service /ready 503", lambda: http(
                "GET", self.pay.url + "/ready", timeout=5)[0] == 503, 10, 0.2)
            time.sleep(max(0, 5 - (time.monotonic() - t0)))
            s.redis.signal(signal.SIGCONT)
            t1 = time.time()
            wait_until("payment-service ready again", lambda: http(
                "GET", self.pay.url + "/ready")[0] == 200, 30, 0.2)
            time.sleep(3)
        finally:
            stream.stop()
        print("\nanswers while Redis was paused: %r; slowest: %s" % (
            dict(stream.answers), max(stream.slow) if stream.slow else "none over 2 s"))
        self.assertGreater(stream.answers[503], 0, "intake never noticed Redis was paused")
        self.assertEqual(stream.slow, [], "intake answered slower than 2 s")
        self.assertEqual(stream.answers["conn-error"], 0)
        self.check_everything_settles_once(stream.accepted)
        resumed = first_log_after(self.pay, t1, "payment decision")
        print("payment-service decided again %.1fs after Redis came back" % (resumed or -1))


class StaleClaimTest(StackTestCase):
    """A claim left by a crashed instance expires by itself, and while one
    partition waits for it the others keep flowing."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.pay = s.start_payment("payment-1", IDEMPOTENCY_LEASE_MS=3000)
        s.wait_assigned(cls.pay)

    def test_claim_of_a_crashed_instance_expires(self):
        s = self.stack

        def order_created(oid, eid):
            return json.dumps({
                "specversion": "1.0", "id": eid, "source": "/test", "type": "OrderCreated",
                "time": "2026-11-21T10:30:00.000Z", "datacontenttype": "application/json",
                "subject": oid, "correlationid": eid, "causationid": eid,
                "data": {"orderId": oid, "userId": "u", "items": [
                    {"productId": "p", "quantity": 1, "price": 5}], "total": 5,
                    "currency": "USD"}})

        # A ghost instance claimed this event 4 s ago (lease: 8 s left).
        s.redis_cli("SET", "idem:payment-service:ev-stuck", "claim:ghost:1", "PX", 8000)
        t0 = time.monotonic()
        s.kafka_produce("order-created", "o-stuck", order_created("o-stuck", "ev-stuck"),
                        partition=0)
        for i in range(10):
            s.kafka_produce("order-created", "o-free-%d" % i,
                            order_created("o-free-%d" % i, "ev-free-%d" % i), partition=1 + i % 5)

        def decided(oid):
            return any(r["key"] == oid for r in s.kafka_records("payment-processed"))
        wait_until("orders on other partitions to be decided", lambda: all(
            decided("o-free-%d" % i) for i in range(10)), 20, 0.3)
        self.assertFalse(decided("o-stuck"), "the claimed event was handled under a live claim")
        wait_until("the stuck event once its claim expired", lambda: decided("o-stuck"), 30, 0.3)
        self.assertGreaterEqual(time.monotonic() - t0, 7.0)
        recs = [r for r in s.kafka_records("payment-processed") if r["key"] == "o-stuck"]
        self.assertEqual(len(recs), 1)


def order_created_event(oid, eid):
    return json.dumps({
        "specversion": "1.0", "id": eid, "source": "/test", "type": "OrderCreated",
        "time": "2026-11-21T10:30:00.000Z", "datacontenttype": "application/json",
        "subject": oid, "correlationid": eid, "causationid": eid,
        "data": {"orderId": oid, "userId": "u", "items": [
            {"productId": "p", "quantity": 1, "price": 5}], "total": 5, "currency": "USD"}})


class CrashWindowTest(StackTestCase):
    """The crash windows kill -9 hits only by chance, set up on purpose:
    a notification written but not recorded as delivered, and outbox entries
    left pending by a relay that died."""

    @classmethod
    def start(cls, s):
        s.start_infra()

    def test_notification_written_before_a_crash_is_not_written_again(self):
        s = self.stack
        path = os.path.join(s.dir, "crashed.jsonl")
        # The previous instance wrote this line and died before marking the
        # event done; its file also ends in a torn line.
        line = {"notificationId": "n-1", "eventId": "ev-written", "type": "ORDER_CONFIRMATION",
                "orderId": "o-written", "userId": "u", "channel": "email", "message": "m",
                "sentAt": "2026-11-21T10:30:00.000Z"}
        with open(path, "w") as f:
            f.write(json.dumps(line) + "\n" + '{"notificationId":"torn')
        notify = s.start_notification("notify-recovering", NOTIFY_FILE=path)
        wait_until("recovery", lambda: "recorded as delivered" in notify.log_text(), 20)
        s.wait_assigned(notify)
        s.kafka_produce("order-created", "o-written", order_created_event("o-written", "ev-written"))
        s.kafka_produce("order-created", "o-new", order_created_event("o-new", "ev-new"))
        wait_until("the new event notified", lambda: any(
            n.get("eventId") == "ev-new" for n in read_lines(path)), 30, 0.3)
        lines = read_lines(path)
        self.assertEqual([n["eventId"] for n in lines if n.get("eventId") == "ev-written"],
                         ["ev-written"])
        wait_until("the redelivered event counted as a duplicate", lambda: re.search(
            r'events_consumed_total\{topic="order-created",result="duplicate"\} 1',
            http("GET", notify.url + "/metrics")[2]), 10, 0.3)
        with open(path) as f:
            raw = f.read().splitlines()
        # The torn fragment was never a notification: cut off, not glued to
        # the next line (nor ended, which would make it one).
        self.assertNotIn('{"notificationId":"torn', raw)
        self.assertTrue(all(json.loads(r) for r in raw))
        self.assertTrue(raw[1].startswith('{"notificationId"'))

    def test_outbox_entries_of_a_dead_relay_are_taken_over(self):
        s = self.stack
        s.redis_cli("XGROUP", "CREATE", "orders:outbox", "relay", "0", "MKSTREAM")
        s.redis_cli("XADD", "orders:outbox", "*", "topic", "order-created", "key", "o-orphan",
                    "value", order_created_event("o-orphan", "ev-orphan"), "eventId", "ev-orphan")
        # A relay called "ghost" read it and died before publishing.
        s.redis_cli("XREADGROUP", "GROUP", "relay", "ghost", "COUNT", "10", "STREAMS",
                    "orders:outbox", ">")
        self.assertIn("ghost", s.redis_cli("XINFO", "CONSUMERS", "orders:outbox", "relay"))
        order = s.start_order(INSTANCE_ID="order-new", OUTBOX_CLAIM_IDLE_MS=1000)
        wait_until("the orphaned entry published", lambda: [
            r for r in s.kafka_records("order-created") if r["key"] == "o-orphan"], 20, 0.3)
        wait_until("the outbox drained", lambda: s.redis_cli("XLEN", "orders:outbox") == "0",
                   10, 0.2)
        recs = [r for r in s.kafka_records("order-created") if r["key"] == "o-orphan"]
        self.assertEqual(len(recs), 1)
        self.assertEqual(json.loads(recs[0]["value"])["id"], "ev-orphan")
        # The dead relay's name leaves the group once it holds nothing.
        wait_until("the dead relay removed from the group", lambda: "ghost" not in s.redis_cli(
            "XINFO", "CONSUMERS", "orders:outbox", "relay"), 15, 0.3)
        self.assertIn("order-new", s.redis_cli("XINFO", "CONSUMERS", "orders:outbox", "relay"))
        self.assertIn("removed 1 idle member(s)", order.log_text())
        self.assertTrue(order.alive())


class RedisLostDataTest(StackTestCase):
    """Redis comes back empty (restarted without persistence): the outbox
    stream and the relay's group are gone. Orders accepted afterwards must
    still be published, whichever relay step meets the loss first."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        # Claim rounds every 0.5 s, so a claim step is the likeliest to see it.
        cls.order = s.start_order(OUTBOX_CLAIM_IDLE_MS=1000)
        s.wait_ready(cls.order)

    def published(self, ids):
        keys = {r["key"] for r in self.stack.kafka_records("order-created")}
        return set(ids) <= keys

    def post(self):
        st, _, got = http("POST", self.order.url + "/orders", order_body())
        return got["orderId"] if st == 201 else None

    def test_orders_after_redis_lost_its_data_are_published(self):
        s = self.stack
        first = wait_until("an order accepted", self.post, 10)
        wait_until("the first order published", lambda: self.published([first]), 20, 0.3)
        s.redis.kill()
        s.start_redis(port=s.redis_port)  # same address, nothing in it
        self.assertEqual(s.redis_cli("EXISTS", "orders:outbox"), "0")
        time.sleep(2)  # several claim rounds against the empty Redis
        after = [wait_until("an order accepted after the loss", self.post, 15) for _ in range(3)]
        wait_until("the orders accepted after the loss published",
                   lambda: self.published(after), 20, 0.3)
        wait_until("the outbox drained", lambda: s.redis_cli("XLEN", "orders:outbox") == "0",
                   10, 0.2)
        self.assertTrue(self.order.alive())


def read_lines(path):
    out = []
    with open(path) as f:
        for l in f:
            try:
                out.append(json.loads(l))
            except ValueError:
                pass
    return out


if __name__ == "__main__":
    unittest.main()
