"""Retention of order records (docs/retention.md): an order keeps no TTL
while its status can move, gets ORDER_RETENTION_S once it is terminal, and
is gone after it; a late event for an expired order changes nothing and is
not dead-lettered, while one for an order that never was still is. Bad
retention settings exit 2 naming the setting.

The test plays inventory-service (it produces InventoryReserved itself), so
an order can be held in a non-terminal status on purpose.
"""

import json
import subprocess
import unittest
import uuid

from harness import StackTestCase, bin_argv, cloud_event, http, order_body, scaled, wait_until

RETENTION_S = 2


class BadSettingsTest(unittest.TestCase):

    def run_order(self, **env):
        full = {"KAFKA_BROKERS": "127.0.0.1:1", "REDIS_URL": "redis://127.0.0.1:1/0",
                "LOG_LEVEL": "error", "PATH": "/usr/bin:/bin"}
        full.update({k: str(v) for k, v in env.items()})
        return subprocess.run(bin_argv("order-service"), env=full, capture_output=True, text=True,
                              timeout=scaled(30))

    def test_bad_retention_exits_2_naming_it(self):
        for env in ({"ORDER_RETENTION_S": "-1"}, {"ORDER_RETENTION_S": "abc"},
                    {"ORDER_RETENTION_S": "315360001"}, {"ORDER_RETENTION_S": "3600"},
                    {"ORDER_RETENTION_S": "59", "IDEMPOTENCY_KEY_TTL_S": "60"}):
            r = self.run_order(**env)
            self.assertEqual(r.returncode, 2, "%r: stdout=%r stderr=%r" % (env, r.stdout, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("ORDER_RETENTION_S", lines[0])

    def test_help_names_the_setting(self):
        r = subprocess.run(bin_argv("order-service", "--help"), capture_output=True, text=True,
                           timeout=scaled(30))
        self.assertEqual(r.returncode, 0)
        self.assertIn("ORDER_RETENTION_S", r.stdout)
        self.assertIn("604800", r.stdout)


class RetentionTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(ORDER_RETENTION_S=RETENTION_S, IDEMPOTENCY_KEY_TTL_S=1)
        cls.payment = s.start_payment()
        for p in (cls.order, cls.payment):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def post(self, body=None):
        status, _, order = http("POST", self.order.url + "/orders", body or order_body())
        self.assertEqual(status, 201, order)
        return order

    def status(self, oid):
        return self.stack.redis_cli("HGET", "order:" + oid, "status")

    def ttl(self, oid):
        return int(self.stack.redis_cli("PTTL", "order:" + oid))

    def wait_status(self, oid, status):
        wait_until("order %s %s" % (oid, status), lambda: self.status(oid) == status, 30, 0.05)

    def wait_gone(self, oid):
        wait_until("order %s expired" % oid,
                   lambda: self.stack.redis_cli("EXISTS", "order:" + oid) == "0",
                   RETENTION_S + scaled(20), 0.1)
        status, _, body = http("GET", self.order.url + "/orders/" + oid)
        self.assertEqual(status, 404, body)

    def test_terminal_orders_expire_and_live_ones_do_not(self):
        # PAYMENT_FAILED (above the payment limit): terminal through an event.
        failed = self.post(order_body(price=20000))["orderId"]
        # PAID, then CONFIRMED (the test plays inventory-service): no TTL.
        live = self.post()["orderId"]
        self.wait_status(failed, "PAYMENT_FAILED")
        ttl = self.ttl(failed)
        self.assertTrue(0 < ttl <= RETENTION_S * 1000, ttl)
        self.wait_status(live, "PAID")
        self.assertEqual(self.ttl(live), -1)
        _, value = cloud_event("InventoryReserved", live, {
            "orderId": live, "items": [{"productId": "p1", "quantity": 2}]},
            source="/inventory-service")
        self.stack.kafka_produce("inventory-reserved", live, value)
        self.wait_status(live, "CONFIRMED")
        self.assertEqual(self.ttl(live), -1)
        self.wait_gone(failed)
        # Past the retention of the first, the live order is still there, untouched.
        self.assertEqual(self.ttl(live), -1)
        self.assertEqual(self.status(live), "CONFIRMED")
        # The customer's cancel (the API's own decision) is terminal too.
        status, _, body = http("POST", self.order.url + "/orders/%s/cancel" % live)
        self.assertEqual(status, 202, body)
        ttl = self.ttl(live)
        self.assertTrue(0 < ttl <= RETENTION_S * 1000, ttl)
        self.wait_gone(live)

    def test_late_event_for_an_expired_order_changes_nothing(self):
        order = self.post(order_body(price=20000))
        oid = order["orderId"]
        self.wait_status(oid, "PAYMENT_FAILED")
        self.wait_gone(oid)
        # A PaymentProcessed as payment-service derives it: its time is the
        # OrderCreated's, so by now older than the retention.
        data = {"orderId": oid, "paymentId": str(uuid.uuid4()), "userId": "u1", "amount": 100,
                "currency": "USD", "items": [{"productId": "p1", "quantity": 2, "price": 50}]}
        late_id, value = cloud_event("PaymentProcessed", oid, data, source="/payment-service")
        ev = json.loads(value)
        ev["time"] = order["createdAt"]
        self.stack.kafka_produce("payment-processed", oid, json.dumps(ev))
        # An event for an order that never was, as young as can be: still
        # dead-lettered.
        ghost = str(uuid.uuid4())
        ghost_id, value = cloud_event("PaymentProcessed", ghost, dict(data, orderId=ghost),
                                      source="/payment-service")
        self.stack.kafka_produce("payment-processed", ghost, value)
        wait_until("the late event settled without a write", lambda: any(
            late_id in l.get("msg", "") and "ignored" in l["msg"]
            for l in self.order.log_lines()), scaled(30))
        dead = wait_until("the unknown order's event dead-lettered", lambda: [
            r["key"] for r in self.stack.kafka_records("payment-processed-dlq")
            if r["headers"].get("kafka_dlt-original-consumer-group") == b"order-service"],
            scaled(30))
        self.assertEqual(dead, [ghost])
        self.assertEqual(self.stack.redis_cli("EXISTS", "order:" + oid), "0")
        self.assertEqual(self.stack.redis_cli("EXISTS", "order:" + ghost), "0")


if __name__ == "__main__":
    unittest.main()
