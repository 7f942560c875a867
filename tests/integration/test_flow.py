"""Orders flow end to end through the real processes.

order-service, payment-service and notification-service run as separate
processes against kafka-dev-broker and redis-server over TCP. Orders go in
through HTTP; the test watches statuses over HTTP, notifications in
NOTIFY_FILE and the events themselves on the broker (kcat).
"""

import collections
import json
import unittest

from harness import (StackTestCase, http, is_child_span, order_body, read_notifications, scaled,
                     wait_until)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class FlowTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.payment = s.start_payment("payment-1")
        cls.notify = s.start_notification()
        for p in (cls.order, cls.payment, cls.notify):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def post(self, body, headers=None):
        status, hdrs, order = http("POST", self.order.url + "/orders", body, headers)
        self.assertEqual(status, 201, order)
        return order, hdrs

    def wait_final(self, order_ids, timeout=40):
        def all_final():
            out = {}
            for oid in order_ids:
                status, _, o = http("GET", self.order.url + "/orders/" + oid)
                if status != 200 or o["status"] == "PENDING":
                    return None
                out[oid] = o
            return out
        return wait_until("orders to leave PENDING", all_final, timeout, 0.3)

    def test_orders_reach_their_payment_status_and_one_notification_per_event(self):
        # Amounts around PAYMENT_LIMIT (10000.00): at the limit is paid,
        # a cent above is declined.
        cases = [
            (order_body("alice", 2, 50), "PAID"),
            (order_body("bob", 1, 10000), "PAID"),
            (order_body("carol", 1, 10000.01), "PAYMENT_FAILED"),
            (order_body("dave", 3, 5000.5), "PAYMENT_FAILED"),
            (order_body("erin", 7, 0.29, currency="EUR"), "PAID"),
            (order_body(items=[{"productId": "a", "quantity": 2, "price": 19.99},
                               {"productId": "b", "quantity": 1, "price": 0.02}]), "PAID"),
        ] + [(order_body("user%d" % i, i + 1, 10.5 * (i + 1)), "PAID") for i in range(14)]
        created = {}
        for body, expected in cases:
            order, hdrs = self.post(body)
            self.assertEqual(order["status"], "PENDING")
            self.assertEqual(hdrs.get("Location"), "/orders/" + order["orderId"])
            created[order["orderId"]] = (order, expected)

        final = self.wait_final(list(created))
        for oid, (order, expected) in created.items():
            self.assertEqual(final[oid]["status"], expected, final[oid])
            for field in ("userId", "items", "total", "currency", "createdAt"):
                self.assertEqual(final[oid][field], order[field])

        # Two events per order: OrderCreated and the payment outcome; one
        # notification line each.
        path = self.notify.notify_file
        wait_until("two notifications per order",
                   lambda: len([n for n in read_notifications(path)
                                if n["orderId"] in created]) >= 2 * len(created), 30, 0.3)
        notes = [n for n in read_notifications(path) if n["orderId"] in created]
        self.assertEqual(len(notes), 2 * len(created))
        by_event = collections.Counter(n["eventId"] for n in notes)
        self.assertEqual(max(by_event.values()), 1, "an event was notified twice")
        by_order = collections.defaultdict(list)
        for n in notes:
            by_order[n["orderId"]].append(n)
            self.assertEqual(set(n), {"notificationId", "eventId", "type", "orderId", "userId",
                                      "channel", "message", "sentAt"})
            self.assertEqual(n["channel"], "email")
            self.assertRegex(n["sentAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        for oid, (order, expected) in created.items():
            types = sorted(n["type"] for n in by_order[oid])
            outcome = "PAYMENT_RECEIPT" if expected == "PAID" else "PAYMENT_FAILED"
            self.assertEqual(types, sorted(["ORDER_CONFIRMATION", outcome]))
            for n in by_order[oid]:
                self.assertEqual(n["userId"], order["userId"])
            if expected == "PAYMENT_FAILED":
                failed = [n for n in by_order[oid] if n["type"] == "PAYMENT_FAILED"][0]
                self.assertIn("amount exceeds limit", failed["message"])

    def test_events_follow_the_contract(self):
        order, _ = self.post(order_body("trace-user", 2, 50.5), {"traceparent": TRACEPARENT})
        oid = order["orderId"]
        self.wait_final([oid])

        def find(topic):
            recs = [r for r in self.stack.kafka_records(topic) if r["key"] == oid]
            return recs[0] if len(recs) == 1 else None

        created = wait_until("OrderCreated on order-created", lambda: find("order-created"))
        paid = wait_until("PaymentProcessed", lambda: find("payment-processed"))
        # One trace, a span per hop: order-service's is a child of the
        # caller's, payment-service's a child of order-service's.
        self.assertTrue(is_child_span(created["headers"].get("traceparent"), TRACEPARENT))
        self.assertTrue(is_child_span(paid["headers"].get("traceparent"),
                                      created["headers"]["traceparent"]))
        # Money on the wire: a JSON number with at most two decimals.
        self.assertRegex(created["value"], r'"total":101(,|})')
        self.assertRegex(created["value"], r'"price":50\.5(,|})')

        ce = json.loads(created["value"])
        self.assertEqual(ce["specversion"], "1.0")
        self.assertEqual(ce["type"], "OrderCreated")
        self.assertEqual(ce["source"], "/order-service")
        self.assertEqual(ce["subject"], oid)
        self.assertEqual(ce["datacontenttype"], "application/json")
        self.assertRegex(ce["id"], r"^[0-9a-f-]{36}$")
        self.assertRegex(ce["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(ce["data"], {"orderId": oid, "userId": "trace-user",
                                      "items": [{"productId": "p1", "quantity": 2,
                                                 "price": 50.5}],
                                      "total": 101, "currency": "USD"})

        pe = json.loads(paid["value"])
        self.assertEqual(pe["type"], "PaymentProcessed")
        self.assertEqual(pe["source"], "/payment-service")
        self.assertEqual(pe["subject"], oid)
        self.assertEqual(pe["correlationid"], ce["correlationid"])
        self.assertEqual(pe["causationid"], ce["id"])
        self.assertNotEqual(pe["id"], ce["id"])
        for field in ("orderId", "paymentId", "amount", "currency"):
            self.assertIn(field, pe["data"])
        self.assertEqual(pe["data"]["amount"], 101)

    def test_declined_payment_event(self):
        order, _ = self.post(order_body("big", 1, 12345.67))
        oid = order["orderId"]
        self.wait_final([oid])
        rec = wait_until("PaymentFailed", lambda: [r for r in self.stack.kafka_records(
            "payment-failed") if r["key"] == oid])
        self.assertEqual(len(rec), 1)
        ev = json.loads(rec[0]["value"])
        self.assertEqual(ev["type"], "PaymentFailed")
        self.assertEqual(ev["data"]["reason"], "amount exceeds limit")
        self.assertEqual(ev["data"]["amount"], 12345.67)
        self.assertEqual(ev["data"]["currency"], "USD")
        # A trace starts at order-service when the request brings none.
        self.assertRegex(rec[0]["headers"].get("traceparent", b"").decode(),
                         r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")

    def test_metrics_count_the_flow(self):
        status, _, text = http("GET", self.order.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertRegex(text, r'http_requests_total\{route="/orders",code="201"\} [1-9]')
        self.assertRegex(text, r'events_published_total\{topic="order-created"\} [1-9]')

    def test_z_sigterm_stops_every_daemon_cleanly(self):
        # Last (alphabetical order): hands back work, commits, exits 0 in 10 s.
        for p in (self.notify, self.payment, self.order):
            rc, took = p.stop(timeout=15)
            self.assertEqual(rc, 0, "%s exited %s" % (p.name, rc))
            self.assertLess(took, scaled(10.0), "%s took %.1fs to stop" % (p.name, took))
            self.assertRegex(p.log_text(), r"stopped")


if __name__ == "__main__":
    unittest.main()
