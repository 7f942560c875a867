"""What an operator watches: /metrics, /ready, /health, logs and traces.

/metrics is parsed with a real Prometheus text parser (Debian's
python3-prometheus-client), checking the names and types of docs/contract.md
section 7 and that counters move with traffic, that consumer_lag names its
consumer group, and that every daemon's build_info agrees with its
--version. /ready must turn 503 while
Redis is paused and 200 again after. A request's traceparent must be on
every event it causes and in every service's log lines about them.
"""

import http.client as httpclient
import json
import os
import re
import signal
import subprocess
import time
import unittest

from prometheus_client.parser import text_string_to_metric_families

from harness import (BIN, StackTestCase, http, is_child_span, order_body, read_notifications,
                     scaled, trace_span, wait_until)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def scrape(proc):
    """{sample name: {labels tuple: value}} and {family name: type}."""
    status, _, text = http("GET", proc.url + "/metrics")
    assert status == 200, status
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples, types


def value(samples, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for k, v in samples.get(name, {}).items() if want <= set(k))


# family (as the parser names it) -> type, per daemon
COMMON = {
    "http_requests": "counter", "http_request_duration_seconds": "histogram",
    "events_published": "counter", "events_consumed": "counter",
    "event_processing_duration_seconds": "histogram", "consumer_lag": "gauge",
    "kafka_up": "gauge", "redis_up": "gauge",
}
EXPECTED = {
    "order-service": dict(COMMON, outbox_pending="gauge"),
    "payment-service": COMMON,
    "notification-service": COMMON,
}


class ObservabilityTest(StackTestCase):

    @classmethod
    def start(cls, s):
        with open(s.props, "a") as f:
            f.write("consumer.statistics.interval.ms=500\n")
        s.start_infra()
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        cls.notify = s.start_notification()
        cls.daemons = {"order-service": cls.order, "payment-service": cls.payment,
                       "notification-service": cls.notify}
        # Every daemon of the suite, for build_info. inventory-service has
        # stock for every order, so an order goes on from PAID to CONFIRMED
        # rather than being refunded.
        cls.every_daemon = dict(cls.daemons, **{
            "inventory-service": s.start_inventory(INVENTORY_DEFAULT_STOCK=1000000),
            "user-service": s.start_user()})
        for p in cls.daemons.values():
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def post_and_settle(self, n, headers=None):
        ids = []
        for i in range(n):
            status, _, o = http("POST", self.order.url + "/orders", order_body("obs%d" % i),
                                headers)
            self.assertEqual(status, 201)
            ids.append(o["orderId"])
        wait_until("orders paid", lambda: all(http("GET", self.order.url + "/orders/" + i)[2]
                                              ["status"] in ("PAID", "CONFIRMED") for i in ids),
                   30, 0.3)
        wait_until("notifications", lambda: len([n for n in read_notifications(
            self.notify.notify_file) if n["orderId"] in ids]) == 2 * n, 30, 0.3)
        return ids

    def test_metrics_have_the_contract_names_and_types_and_counters_move(self):
        self.post_and_settle(3)
        before = {name: scrape(p)[0] for name, p in self.daemons.items()}
        self.post_and_settle(5)
        for name, proc in self.daemons.items():
            with self.subTest(name):
                samples, types = scrape(proc)
                for fam, typ in EXPECTED[name].items():
                    self.assertEqual(types.get(fam), typ, "%s: %s" % (name, fam))
                self.assertEqual(value(samples, "kafka_up"), 1)
                self.assertEqual(value(samples, "redis_up"), 1)
                b = before[name]
                # Every scrape is itself a request.
                self.assertGreater(value(samples, "http_requests_total", route="/metrics"),
                                   value(b, "http_requests_total", route="/metrics"))
                consumed = {"order-service": "payment-processed",
                            "payment-service": "order-created",
                            "notification-service": "order-created"}[name]
                self.assertGreaterEqual(
                    value(samples, "events_consumed_total", topic=consumed, result="ok") -
                    value(b, "events_consumed_total", topic=consumed, result="ok"), 5)
                self.assertGreaterEqual(
                    value(samples, "event_processing_duration_seconds_count") -
                    value(b, "event_processing_duration_seconds_count"), 5)
        orders, _ = scrape(self.order)
        self.assertGreaterEqual(value(orders, "http_requests_total", route="/orders", code="201"), 8)
        self.assertGreaterEqual(
            value(orders, "http_request_duration_seconds_count", route="/orders"), 8)
        self.assertGreaterEqual(value(orders, "events_published_total", topic="order-created"), 8)
        pay, _ = scrape(self.payment)
        self.assertGreaterEqual(value(pay, "events_published_total", topic="payment-processed"), 8)

    def test_consumer_lag_per_partition_drains_to_zero(self):
        self.post_and_settle(4)

        def lag_series():
            samples, _ = scrape(self.payment)
            lag = samples.get("consumer_lag", {})
            parts = {dict(k)["partition"] for k in lag if dict(k)["topic"] == "order-created"}
            return parts == {str(p) for p in range(6)} and sum(lag.values()) == 0
        wait_until("payment-service's lag: 6 partitions, all caught up", lag_series, 20, 0.3)

    def test_consumer_lag_names_each_consumer_group(self):
        # The consumers' group ids are their service names (order-service's
        # is its status updater).
        self.post_and_settle(1)
        for group, proc in self.daemons.items():
            with self.subTest(group):
                def labelled():
                    lag = scrape(proc)[0].get("consumer_lag", {})
                    return lag and [dict(k) for k in lag]
                series = wait_until("%s's consumer_lag series" % group, labelled, 20, 0.3)
                for labels in series:
                    self.assertEqual(set(labels), {"group", "topic", "partition"}, labels)
                    self.assertEqual(labels["group"], group, labels)

    def test_build_info_names_the_build_on_every_daemon(self):
        for name, proc in self.every_daemon.items():
            with self.subTest(name):
                out = subprocess.run([os.path.join(BIN, name), "--version"], check=True,
                                     capture_output=True, text=True, timeout=30).stdout
                m = re.match(r"^%s (\S+) \(librdkafka (\S+)\)$" % name, out.strip())
                self.assertTrue(m, out)
                samples, types = scrape(proc)
                self.assertEqual(types.get("build_info"), "gauge")
                info = samples.get("build_info", {})
                self.assertEqual(len(info), 1, info)
                labels, val = next(iter(info.items()))
                labels = dict(labels)
                self.assertEqual(val, 1)
                self.assertEqual(set(labels), {"service", "version", "librdkafka", "revision"})
                self.assertEqual(labels["service"], name)
                self.assertEqual(labels["version"], m.group(1))
                self.assertEqual(labels["librdkafka"], m.group(2))
                self.assertRegex(labels["revision"], r"^([0-9a-f]{40}|unknown)$")

    def test_outbox_pending_drains(self):
        self.post_and_settle(2)
        wait_until("outbox_pending 0", lambda: value(scrape(self.order)[0], "outbox_pending") == 0,
                   10, 0.3)

    def test_trace_context_travels_a_span_per_hop_and_into_the_logs(self):
        # A later version of traceparent is continued as version 00 (W3C:
        # parse the fields of 00, ignore what follows a '-'); tracestate
        # goes along with it, cleaned of blanks and empty members.
        future = "cc" + TRACEPARENT[2:] + "-a-later-field"
        ids = self.post_and_settle(1, {"traceparent": future,
                                       "tracestate": "congo=t61rcWkgMzE, ,rojo=00f067aa0ba902b7"})
        oid = ids[0]
        recs = {}
        for topic in ("order-created", "payment-processed"):
            got = [r for r in self.stack.kafka_records(topic) if r["key"] == oid]
            self.assertEqual(len(got), 1, topic)
            recs[topic] = got[0]["headers"]
            self.assertEqual(recs[topic].get("tracestate"), b"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        created, paid = recs["order-created"]["traceparent"], recs["payment-processed"]["traceparent"]
        self.assertTrue(is_child_span(created, TRACEPARENT), created)
        self.assertTrue(is_child_span(paid, created), paid)
        trace_id = trace_span(TRACEPARENT)[0]
        # Every line of the work on this order names the trace and the span
        # doing it; payment-service's span is the one on PaymentProcessed,
        # its parent the one on OrderCreated.
        for name in ("payment-service", "notification-service"):
            lines = [l for l in self.daemons[name].log_lines() if l.get("orderId") == oid]
            self.assertTrue(lines, name)
            for l in lines:
                self.assertEqual(l.get("trace_id"), trace_id, (name, l))
                self.assertRegex(l.get("span_id", ""), r"^[0-9a-f]{16}$", (name, l))
                self.assertIn(l.get("parent_span_id"),
                              (trace_span(created)[1], trace_span(paid)[1]), (name, l))
        decided = [l for l in self.daemons["payment-service"].log_lines()
                   if l.get("orderId") == oid and l.get("span_id") == trace_span(paid)[1]]
        self.assertTrue(decided, "no payment-service line of the span on PaymentProcessed")
        self.assertEqual(decided[0]["parent_span_id"], trace_span(created)[1])
        # Several tracestate fields are one list; two traceparent fields are
        # ambiguous: a new trace (W3C), and its tracestate goes with the old.
        for tps, want_trace in (([TRACEPARENT], trace_id), ([TRACEPARENT, future], None)):
            conn = httpclient.HTTPConnection("127.0.0.1", int(self.order.url.rsplit(":", 1)[1]),
                                              timeout=10)
            body = json.dumps(order_body("obs-multi")).encode()
            conn.putrequest("POST", "/orders")
            for name, value in ([("Content-Type", "application/json"),
                                 ("Content-Length", str(len(body)))] +
                                [("traceparent", tp) for tp in tps] +
                                [("tracestate", "congo=1"), ("tracestate", "rojo=2,x=3")]):
                conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 201)
            oid = json.loads(resp.read())["orderId"]
            conn.close()
            got = wait_until("the OrderCreated of %s" % oid, lambda: [
                r for r in self.stack.kafka_records("order-created") if r["key"] == oid], 20)
            headers = got[0]["headers"]
            if want_trace:
                self.assertEqual(trace_span(headers["traceparent"])[0], want_trace)
                self.assertEqual(headers.get("tracestate"), b"congo=1,rojo=2,x=3")
            else:
                self.assertNotEqual(trace_span(headers["traceparent"])[0], trace_id)
                self.assertNotIn("tracestate", headers)
        # An invalid traceparent starts a new trace and drops the tracestate.
        oid = self.post_and_settle(1, {"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
                                       "tracestate": "congo=t61rcWkgMzE"})[0]
        got = [r for r in self.stack.kafka_records("order-created") if r["key"] == oid]
        self.assertEqual(len(got), 1)
        self.assertNotIn("tracestate", got[0]["headers"])
        self.assertNotEqual(trace_span(got[0]["headers"]["traceparent"])[0], "0" * 32)

    def test_log_lines_are_json_with_the_event_context(self):
        self.post_and_settle(1)
        for name, proc in self.daemons.items():
            text = proc.log_text()
            lines = [l for l in text.splitlines() if l.strip()]
            self.assertTrue(lines)
            for raw in lines:
                line = json.loads(raw)  # every line is one JSON object
                for key in ("time", "level", "service", "instance", "msg"):
                    self.assertIn(key, line, raw)
                self.assertEqual(line["service"], name)
            event_lines = [json.loads(l) for l in lines if '"eventId"' in l]
            if name != "order-service":
                self.assertTrue(event_lines, name)
            for l in event_lines:
                for key in ("eventId", "type", "orderId", "correlationid", "topic", "partition",
                            "offset"):
                    self.assertIn(key, l, l)

    def test_z_ready_turns_503_while_redis_is_paused(self):
        for proc in self.daemons.values():
            self.assertEqual(http("GET", proc.url + "/ready")[0], 200)
            self.assertEqual(http("GET", proc.url + "/health")[0], 200)
        self.stack.redis.signal(signal.SIGSTOP)
        try:
            for name, proc in self.daemons.items():
                with self.subTest(name):
                    start = time.monotonic()
                    st, _, body = http("GET", proc.url + "/ready", timeout=10)
                    self.assertEqual(st, 503)
                    self.assertEqual(body["status"], "not ready")
                    self.assertIn("redis", body["reason"])
                    self.assertLess(time.monotonic() - start, scaled(3))
                    self.assertEqual(value(scrape(proc)[0], "redis_up"), 0)
                    self.assertEqual(http("GET", proc.url + "/health")[0], 200)
        finally:
            self.stack.redis.signal(signal.SIGCONT)
        for name, proc in self.daemons.items():
            wait_until("%s ready again" % name,
                       lambda: http("GET", proc.url + "/ready")[0] == 200, 15, 0.2)
            self.assertEqual(value(scrape(proc)[0], "redis_up"), 1)


class LagTest(StackTestCase):
    """consumer_lag shows a backlog while a consumer cannot make progress (its
    notification disk is full) and drains once it can: with the default
    settings, which give librdkafka's statistics an interval of 5 s."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.real = os.path.join(s.dir, "notifications.jsonl")
        cls.link = os.path.join(s.dir, "link.jsonl")
        os.symlink("/dev/full", cls.link)
        cls.notify = s.start_notification(NOTIFY_FILE=cls.link, RETRY_MAX=20,
                                          RETRY_BACKOFF_MS=1000)
        s.wait_assigned(cls.notify)
        s.wait_ready(cls.order)

    def lag(self):
        return value(scrape(self.notify)[0], "consumer_lag", topic="order-created")

    def test_lag_shows_the_backlog_and_drains(self):
        for i in range(5):
            self.assertEqual(http("POST", self.order.url + "/orders", order_body("lag%d" % i))[0],
                             201)
        wait_until("a lag of 5 on order-created", lambda: self.lag() == 5, 20, 0.3)
        os.replace(self.link, self.link + ".old")
        os.symlink(self.real, self.link)
        self.notify.signal(signal.SIGHUP)
        wait_until("the lag to drain", lambda: self.lag() == 0, 40, 0.3)
        self.assertEqual(len(read_notifications(self.real)), 5)


if __name__ == "__main__":
    unittest.main()
