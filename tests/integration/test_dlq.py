"""Dead letters: poison messages, exhausted retries, the eventbus-dlq tool.

Faults are real: poison records are produced to the broker by an independent
client (kafka-python); a failing notification store is /dev/full behind the
NOTIFY_FILE path (ENOSPC on every write), switched in and out with SIGHUP as
logrotate would.
"""

import base64
import collections
import json
import os
import re
import signal
import struct
import subprocess
import unittest

from harness import StackTestCase, bin_argv, scaled, http, order_body, read_notifications, wait_until

GROUPS_ON_ORDER_CREATED = {"payment-service", "notification-service"}
DLT = "kafka_dlt-"


def cloud_event(type_, data, id_):
    return json.dumps({"specversion": "1.0", "id": id_, "source": "/test", "type": type_,
                       "time": "2026-11-21T10:30:00.123Z", "datacontenttype": "application/json",
                       "subject": "o-" + id_, "data": data})


POISON = [
    # (key, value, words expected in kafka_dlt-exception-message)
    ("poison-json", "this is not json {", "not JSON"),
    ("poison-ce", json.dumps({"orderId": "x", "hello": "world"}), "not a CloudEvent"),
    ("poison-type", cloud_event("OrderShipped", {"orderId": "x"}, "poison-type-id"),
     "unknown event type"),
    ("poison-data", cloud_event("OrderCreated", {"orderId": "o-poison-data-id", "userId": "u",
                                                 "items": [], "total": 0, "currency": "USD"},
                                "poison-data-id"), "items"),
]


class PoisonTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        cls.notify = s.start_notification()
        for p in (cls.order, cls.payment, cls.notify):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def test_1_poison_reaches_the_dlq_once_per_group_with_every_header(self):
        before = [http("POST", self.order.url + "/orders", order_body("before%d" % i))[2]
                  ["orderId"] for i in range(5)]
        sent = {}
        for i, (key, value, _) in enumerate(POISON):
            sent[key] = self.stack.kafka_produce(
                "order-created", key, value, headers=[("x-test", "poison"), ("x-bin", b"\x00\x01")],
                partition=i % 6)
        after = [http("POST", self.order.url + "/orders", order_body("after%d" % i))[2]
                 ["orderId"] for i in range(5)]

        def dead_letters():
            recs = [r for r in self.stack.kafka_records("order-created-dlq")
                    if r["key"] in sent]
            return recs if len(recs) >= 2 * len(POISON) else None
        recs = wait_until("a dead letter per poison message and group", dead_letters, 40, 0.5)
        originals = {(r["partition"], r["offset"]): r for r in
                     self.stack.kafka_records("order-created") if r["key"] in sent}

        seen = collections.Counter()
        by_key = {p[0]: p for p in POISON}
        for r in recs:
            key, value, words = by_key[r["key"]]
            partition, offset, _ = sent[key]
            h = r["headers"]
            seen[(key, h[DLT + "original-consumer-group"].decode())] += 1
            self.assertEqual(r["raw"], value.encode())
            self.assertEqual(r["partition"], partition)
            # The original headers come first, byte for byte.
            self.assertEqual(r["header_list"][:2], [("x-test", b"poison"), ("x-bin", b"\x00\x01")])
            self.assertEqual(h[DLT + "original-topic"], b"order-created")
            self.assertEqual(struct.unpack(">i", h[DLT + "original-partition"])[0], partition)
            self.assertEqual(struct.unpack(">q", h[DLT + "original-offset"])[0], offset)
            self.assertEqual(struct.unpack(">q", h[DLT + "original-timestamp"])[0],
                             originals[(partition, offset)]["timestamp"])
            self.assertEqual(h[DLT + "exception-fqcn"], b"eventbus.PermanentError")
            self.assertIn(words, h[DLT + "exception-message"].decode())
            self.assertRegex(h["eventbus-attempts"].decode(), r"^[1-9]\d*$")
            self.assertRegex(h["eventbus-failed-at"].decode(),
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(set(seen), {(k, g) for k in sent for g in GROUPS_ON_ORDER_CREATED})
        self.assertEqual(set(seen.values()), {1}, "a poison message was dead-lettered twice")

        # Valid orders around the poison kept flowing.
        def all_paid():
            return all(http("GET", self.order.url + "/orders/" + o)[2]["status"] == "PAID"
                       for o in before + after)
        wait_until("valid orders around the poison to be paid", all_paid, 30, 0.3)
        # Nothing valid went to a DLQ.
        self.assertEqual([r for r in self.stack.kafka_records("order-created-dlq")
                          if r["key"] in before + after], [])

    def test_2_dlq_tool_lists_dead_letters_with_decoded_headers(self):
        # After test_1, which produced the poison.
        wait_until("dead letters", lambda: len([r for r in self.stack.kafka_records(
            "order-created-dlq") if r["key"].startswith("poison")]) >= 8, 40, 0.5)
        out = subprocess.run(bin_argv("eventbus-dlq", "list", "order-created-dlq"),
                             env=self.stack.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [json.loads(l) for l in out.stdout.splitlines()]
        poison = [l for l in lines if l["key"].startswith("poison")]
        self.assertEqual(len(poison), 8)
        for l in poison:
            d = l["deadLetter"]
            self.assertEqual(d["kafka_dlt-original-topic"], "order-created")
            self.assertIsInstance(d["kafka_dlt-original-partition"], int)
            self.assertIsInstance(d["kafka_dlt-original-offset"], int)
            self.assertEqual(d["kafka_dlt-exception-fqcn"], "eventbus.PermanentError")
            self.assertIn(d["kafka_dlt-original-consumer-group"], GROUPS_ON_ORDER_CREATED)
            # Every header in order; bytes that are not text as base64.
            self.assertEqual(l["headers"][:2], [{"name": "x-test", "value": "poison"},
                                                {"name": "x-bin", "value": {"base64": "AAE="}}])
        ids = {l["eventId"] for l in poison}
        self.assertIn("poison-type-id", ids)
        self.assertIn(None, ids)  # "not JSON" has no event id


class RetryTest(StackTestCase):
    """A handler that keeps failing: retried with backoff, then dead-lettered
    as RetriesExhausted; replayed after the cause is fixed, processed once."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.real_file = os.path.join(s.dir, "notifications.jsonl")
        cls.link = os.path.join(s.dir, "notify-link.jsonl")
        open(cls.real_file, "w").close()
        os.symlink(cls.real_file, cls.link)
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        cls.notify = s.start_notification(NOTIFY_FILE=cls.link, RETRY_MAX=2,
                                           RETRY_BACKOFF_MS=300)
        for p in (cls.order, cls.payment, cls.notify):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def point_notify_file_at(self, target):
        tmp = self.link + ".new"
        os.symlink(target, tmp)
        os.replace(tmp, self.link)
        self.notify.signal(signal.SIGHUP)
        wait_until("notification-service to reopen its file",
                   lambda: self.notify.log_text().count("reopened") >= self.reopens + 1, 10)
        self.reopens += 1

    reopens = 0

    def test_1_exhausted_retries_dead_letter_then_replay_after_the_fix(self):
        self.point_notify_file_at("/dev/full")  # every write: ENOSPC
        status, _, order = http("POST", self.order.url + "/orders", order_body("retry-me"))
        self.assertEqual(status, 201)
        oid = order["orderId"]
        # payment-service is another group: it is not held up.
        wait_until("the order to be paid", lambda: http(
            "GET", self.order.url + "/orders/" + oid)[2]["status"] == "PAID", 30, 0.3)

        def dead(topic):
            recs = [r for r in self.stack.kafka_records(topic) if r["key"] == oid]
            return recs or None
        created_dl = wait_until("OrderCreated dead-lettered", lambda: dead("order-created-dlq"),
                                40, 0.5)
        paid_dl = wait_until("PaymentProcessed dead-lettered",
                             lambda: dead("payment-processed-dlq"), 40, 0.5)
        for recs in (created_dl, paid_dl):
            self.assertEqual(len(recs), 1)
            h = recs[0]["headers"]
            self.assertEqual(h["kafka_dlt-exception-fqcn"], b"eventbus.RetriesExhausted")
            self.assertEqual(h["eventbus-attempts"], b"3")  # the first + RETRY_MAX
            self.assertIn("No space left on device", h["kafka_dlt-exception-message"].decode())
            self.assertEqual(h["kafka_dlt-original-consumer-group"], b"notification-service")
        log = self.notify.log_lines()
        attempts = [l for l in log if "handler failed" in l.get("msg", "")
                    and l.get("orderId") == oid]
        self.assertGreaterEqual(len(attempts), 6)  # 3 per event, 2 events
        # Retrying paused partitions; it never made the member leave its group.
        self.assertFalse([l for l in log if "revoked" in l.get("msg", "")])
        self.assertEqual(read_notifications(self.real_file), [])

        # Fix the cause, replay both dead letters: each notified exactly once.
        self.point_notify_file_at(self.real_file)
        for topic, recs in (("order-created-dlq", created_dl), ("payment-processed-dlq", paid_dl)):
            event_id = json.loads(recs[0]["value"])["id"]
            out = subprocess.run(bin_argv("eventbus-dlq", "replay", topic, "--event-id", event_id),
                                 env=self.stack.env(),
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(len(out.stdout.splitlines()), 1, out.stdout)
        wait_until("both notifications after the replay", lambda: len(
            [n for n in read_notifications(self.real_file) if n["orderId"] == oid]) == 2, 30, 0.3)
        notes = [n for n in read_notifications(self.real_file) if n["orderId"] == oid]
        self.assertEqual(sorted(n["type"] for n in notes),
                         ["ORDER_CONFIRMATION", "PAYMENT_RECEIPT"])
        # The replayed OrderCreated also reached payment-service, which had
        # handled it: still one decision.
        decisions = [r for r in self.stack.kafka_records("payment-processed") if r["key"] == oid]
        self.assertEqual(len({json.loads(r["value"])["id"] for r in decisions}), 1)
        wait_until("payment-service to skip the replayed duplicate", lambda: re.search(
            r'events_consumed_total\{topic="order-created",result="duplicate"\} [1-9]',
            http("GET", self.payment.url + "/metrics")[2]), 20, 0.3)

    def test_2_dry_run_publishes_nothing(self):
        before = len(self.stack.kafka_records("order-created"))
        out = subprocess.run(bin_argv("eventbus-dlq", "replay", "order-created-dlq", "--dry-run"),
                             env=self.stack.env(), capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        for line in out.stdout.splitlines():
            self.assertEqual(json.loads(line)["action"], "would replay")
        self.assertEqual(len(self.stack.kafka_records("order-created")), before)


class ShutdownMidRetryTest(StackTestCase):
    """SIGTERM while a message waits for its next attempt: the daemon exits 0
    within 10 s and the message is handed back uncommitted, so the next
    instance handles it."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.real_file = os.path.join(s.dir, "notifications.jsonl")
        cls.notify = s.start_notification(NOTIFY_FILE="/dev/full", RETRY_MAX=5,
                                          RETRY_BACKOFF_MS=4000)
        for p in (cls.order, cls.notify):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def test_sigterm_mid_retry_hands_the_message_back(self):
        status, _, order = http("POST", self.order.url + "/orders", order_body("mid-retry"))
        self.assertEqual(status, 201)
        oid = order["orderId"]
        wait_until("the first failed attempt", lambda: any(
            "handler failed" in l.get("msg", "") and l.get("orderId") == oid
            for l in self.notify.log_lines()), 30, 0.2)
        rc, took = self.notify.stop()
        self.assertEqual(rc, 0)
        self.assertLess(took, scaled(10))
        self.assertEqual(self.stack.kafka_records("order-created-dlq"), [])

        again = self.stack.start_notification("notification-2", NOTIFY_FILE=self.real_file)
        wait_until("the handed-back event to be notified", lambda: [
            n for n in read_notifications(self.real_file) if n["orderId"] == oid], 60, 0.3)
        notes = [n for n in read_notifications(self.real_file) if n["orderId"] == oid]
        self.assertEqual([n["type"] for n in notes], ["ORDER_CONFIRMATION"])
        self.assertTrue(again.alive())


def order_created(oid):
    return cloud_event("OrderCreated", {"orderId": oid, "userId": "u1", "currency": "USD",
                                        "items": [{"productId": "p1", "quantity": 1,
                                                   "price": 10}], "total": 10}, "ev-" + oid)


class NoLiveLockTest(StackTestCase):
    """In one partition, poison followed by records that keep failing (a full
    disk): the poison is dead-lettered at once, each failing record is tried
    1 + RETRY_MAX times and dead-lettered, in offset order; the partition
    then moves on. (A block that covered the whole partition, rather than an
    offset, dead-lettered nothing and retried "attempt 1" for ever.)"""

    @classmethod
    def start(cls, s):
        s.start_infra()

    def test_poison_then_failures_all_reach_the_dlq_in_order(self):
        # All in the topic before the consumer starts: one fetch, one turn.
        *sent, other = self.stack.kafka_produce_batch("order-created", [
            ("ll-poison", "not json {", 0), ("ll-a", order_created("ll-a"), 0),
            ("ll-b", order_created("ll-b"), 0), ("ll-other", "also not json", 1)])
        self.notify = self.stack.start_notification(NOTIFY_FILE="/dev/full", RETRY_MAX=2,
                                                    RETRY_BACKOFF_MS=100)

        def dead():
            recs = [r for r in self.stack.kafka_records("order-created-dlq")
                    if r["key"] and r["key"].startswith("ll-")]
            return recs if len(recs) >= 4 else None
        recs = wait_until("every record dead-lettered", dead, 40, 0.3)
        self.assertEqual(len(recs), 4)
        p0 = sorted((r for r in recs if r["partition"] == 0), key=lambda r: r["offset"])
        self.assertEqual([r["key"] for r in p0], ["ll-poison", "ll-a", "ll-b"])
        self.assertEqual([struct.unpack(">q", r["headers"][DLT + "original-offset"])[0]
                          for r in p0],
                         [o for _, o in sent])
        self.assertEqual([r["headers"][DLT + "exception-fqcn"] for r in p0],
                         [b"eventbus.PermanentError", b"eventbus.RetriesExhausted",
                          b"eventbus.RetriesExhausted"])
        self.assertEqual([r["headers"]["eventbus-attempts"] for r in p0], [b"1", b"3", b"3"])
        [p1] = [r for r in recs if r["partition"] == 1]
        self.assertEqual(struct.unpack(">q", p1["headers"][DLT + "original-offset"])[0], other[1])
        for oid in ("ll-a", "ll-b"):
            tries = [l.get("msg", "") for l in self.notify.log_lines()
                     if "handler failed" in l.get("msg", "") and l.get("eventId") == "ev-" + oid]
            self.assertEqual([re.search(r"attempt (\d+)", t).group(1) for t in tries],
                             ["1", "2", "3"], oid)
        # The partition moved on: the next record there is handled at once.
        self.stack.kafka_produce("order-created", "ll-poison-2", "not json either", partition=0)
        wait_until("the next record dead-lettered too", lambda: any(
            r["key"] == "ll-poison-2" for r in self.stack.kafka_records("order-created-dlq")),
            20, 0.3)


T0 = 1577836800000  # 2020-01-01T00:00:00Z


def dead_letter_headers(group, offset, partition=3, extra=()):
    """Dead-letter headers as Spring Kafka (and the library) write them."""
    return list(extra) + [
        (DLT + "original-topic", b"order-completed"),
        (DLT + "original-partition", struct.pack(">i", partition)),
        (DLT + "original-offset", struct.pack(">q", offset)),
        (DLT + "original-timestamp", struct.pack(">q", T0 - 1)),
        (DLT + "original-consumer-group", group.encode()),
        (DLT + "exception-fqcn", b"eventbus.PermanentError"),
        (DLT + "exception-message", b"not JSON"),
        (DLT + "exception-stacktrace", b"Spring adds this one"),
        ("eventbus-attempts", b"1"),
    ]


class KcatTest(StackTestCase):
    """eventbus-dlq as an operator with kcat habits uses it: -b -F -X,
    filters by partition, offset range, group and time, replay by offset of
    a dead letter that is not a CloudEvent, bytes shown losslessly. The dead
    letters are written by an independent client (kafka-python) with chosen
    timestamps, so the tests need only a broker."""

    DLQ = "order-completed-dlq"
    BINARY_KEY = b"k\xfe\x00"
    BINARY_VALUE = b"\x00\x01not json\xff"
    ORIGINAL = [("x-bin", b"\x00\xff\x01"), ("x-text", "h\u00e9llo".encode()), ("x-empty", b"")]

    @classmethod
    def start(cls, s):
        s.start_broker()
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=s.bootstrap, acks="all")
        try:
            # partition 1: four, one second apart, groups alternating; the
            # third is binary through and through
            sends = []
            for i in range(4):
                group = ("payment-service", "notification-service")[i % 2]
                key, value = b"k%d" % i, b"not json %d" % i
                extra = ()
                if i == 2:
                    key, value, extra = cls.BINARY_KEY, cls.BINARY_VALUE, cls.ORIGINAL
                sends.append(p.send(cls.DLQ, key=key, value=value, partition=1,
                                    timestamp_ms=T0 + 1000 * i,
                                    headers=dead_letter_headers(group, 100 + i, extra=extra)))
            for i in range(2):
                sends.append(p.send(cls.DLQ, key=b"q%d" % i, value=b"four %d" % i, partition=4,
                                    timestamp_ms=T0 + 500 + 1000 * i,
                                    headers=dead_letter_headers("payment-service", 200 + i)))
            cls.sent = [f.get(timeout=30) for f in sends]
        finally:
            p.close()
        cls.p1 = [m.offset for m in cls.sent[:4]]

    def dlq(self, *args, env=None):
        """Runs eventbus-dlq; returns (exit code, stdout lines as JSON, stderr)."""
        out = subprocess.run(bin_argv("eventbus-dlq", *args), env=env or self.stack.env(),
                             capture_output=True, text=True, timeout=60)
        lines = [json.loads(l) for l in out.stdout.splitlines()] if out.returncode == 0 else []
        return out.returncode, lines, out.stderr

    def listed(self, *args, env=None):
        rc, lines, err = self.dlq("list", self.DLQ, *args, env=env)
        self.assertEqual(rc, 0, err)
        return [(l["partition"], l["offset"]) for l in lines]

    def test_filters_by_partition_offset_group_and_time(self):
        p1 = [(1, o) for o in self.p1]
        p4 = [(4, m.offset) for m in self.sent[4:]]
        self.assertEqual(sorted(self.listed()), sorted(p1 + p4))
        self.assertEqual(self.listed("-p", "1"), p1)
        self.assertEqual(sorted(self.listed("-p", "4", "--partition", "1")), sorted(p1 + p4))
        self.assertEqual(sorted(self.listed("--partition=1,4")), sorted(p1 + p4))
        # offsets: a range (end exclusive), N before the end, one, a count
        self.assertEqual(self.listed("-p", "1", "-o", str(self.p1[1]), "--end-offset",
                                     str(self.p1[3])), p1[1:3])
        self.assertEqual(self.listed("-p", "1", "-o", "-2"), p1[2:])
        self.assertEqual(self.listed("-p1", "-o%d" % self.p1[2], "-c1"), [p1[2]])
        self.assertEqual(self.listed("-p", "1", "-o", "end"), [])
        self.assertEqual(len(self.listed("-c", "3")), 3)
        # the original consumer group
        self.assertEqual(self.listed("-p", "1", "--group", "notification-service"),
                         [p1[1], p1[3]])
        self.assertEqual(sorted(self.listed("--group", "payment-service")),
                         sorted([p1[0], p1[2]] + p4))
        self.assertEqual(self.listed("--group", "nobody"), [])
        # time: the dead letter's timestamp, since inclusive, until exclusive
        self.assertEqual(sorted(self.listed("--since", "2020-01-01T00:00:01Z",
                                            "--until", str(T0 + 3000))),
                         sorted([p1[1], p1[2], p4[1]]))
        self.assertEqual(self.listed("-p", "1", "--since", "2020-01-01T01:00:02+01:00"),
                         p1[2:])
        # all together
        # (partitions interleave as the broker delivers them: compare sets)
        self.assertEqual(sorted(self.listed("-p", "1,4", "--group", "payment-service",
                                            "--until", "2020-01-01T00:00:01.5Z")),
                         [p1[0], p4[0]])
        rc, _, err = self.dlq("list", self.DLQ, "-p", "6")
        self.assertEqual(rc, 1)
        self.assertIn("no partition 6", err)

    def test_binary_bytes_shown_as_base64_and_replayed_byte_for_byte(self):
        rc, [line], err = self.dlq("list", self.DLQ, "-p", "1", "-o", str(self.p1[2]), "-c", "1")
        self.assertEqual(rc, 0, err)
        self.assertIsNone(line["eventId"])
        self.assertEqual(base64.b64decode(line["key"]["base64"]), self.BINARY_KEY)
        self.assertEqual(base64.b64decode(line["value"]["base64"]), self.BINARY_VALUE)
        self.assertEqual(line["timestamp"], T0 + 2000)
        headers = line["headers"]
        self.assertEqual(headers[:3], [
            {"name": "x-bin", "value": {"base64": base64.b64encode(b"\x00\xff\x01").decode()}},
            {"name": "x-text", "value": "h\u00e9llo"}, {"name": "x-empty", "value": ""}])
        by_name = {h["name"]: h["value"] for h in headers}
        self.assertEqual(by_name[DLT + "original-partition"],
                         {"base64": base64.b64encode(struct.pack(">i", 3)).decode(), "int": 3})
        self.assertEqual(by_name[DLT + "original-offset"]["int"], 102)
        self.assertEqual(line["deadLetter"][DLT + "original-partition"], 3)
        self.assertEqual(line["deadLetter"][DLT + "original-consumer-group"], "payment-service")
        # what list shows decodes back to the record's bytes
        original = [r for r in self.stack.kafka_records(self.DLQ)
                    if r["partition"] == 1 and r["offset"] == self.p1[2]][0]
        shown = [(h["name"], base64.b64decode(h["value"]["base64"])
                  if isinstance(h["value"], dict) else h["value"].encode()) for h in headers]
        self.assertEqual(shown, original["header_list"])

        # Replay that one by its offset: not a CloudEvent, it has no id.
        before = {r["offset"] for r in self.stack.kafka_records("order-completed")
                  if r["partition"] == 3}
        rc, lines, err = self.dlq("replay", self.DLQ, "--partition", "1", "--offset",
                                  str(self.p1[2]), "--count", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, [{"action": "replayed", "to": "order-completed", "partition": 3,
                                  "dlqPartition": 1, "dlqOffset": self.p1[2]}])
        [r] = [r for r in self.stack.kafka_records("order-completed")
               if r["partition"] == 3 and r["offset"] not in before]
        self.assertEqual(r["raw"], self.BINARY_VALUE)
        self.assertEqual(r["raw_key"], self.BINARY_KEY)
        self.assertEqual(r["header_list"], self.ORIGINAL)  # no kafka_dlt-*, no eventbus-*

    def test_kcat_flags_override_the_environment(self):
        bad_env = self.stack.env(KAFKA_BROKERS="127.0.0.1:1")
        every = sorted(self.listed())
        self.assertEqual(sorted(self.listed("-b", self.stack.bootstrap, env=bad_env)), every)
        # -X reaches the client, after the environment and the file
        self.assertEqual(sorted(self.listed("-X", "bootstrap.servers=" + self.stack.bootstrap,
                                            env=bad_env)), every)
        rc, _, err = self.dlq("list", self.DLQ, "-X", "fetch.wait.max.ms=soon")
        self.assertEqual(rc, 2)
        self.assertIn("fetch.wait.max.ms", err)
        # -F replaces KAFKA_CONFIG_FILE
        props = os.path.join(self.stack.dir, "dlq.properties")
        with open(props, "w") as f:
            f.write("bootstrap.servers=%s\n" % self.stack.bootstrap)
        env = self.stack.env(KAFKA_CONFIG_FILE="/nonexistent/kafka.properties")
        env.pop("KAFKA_BROKERS")
        self.assertEqual(sorted(self.listed("-F", props, env=env)), every)
        with open(props, "a") as f:
            f.write("no.such.property=1\n")
        rc, _, err = self.dlq("list", self.DLQ, "-F", props)
        self.assertEqual(rc, 2)
        self.assertIn("no.such.property", err)


if __name__ == "__main__":
    unittest.main()
