"""The order saga (docs/saga.md): the order lifecycle, and the read model
rebuilt from the topics.

LifecycleTest runs order-service and payment-service and plays
inventory-service itself (it produces InventoryReserved and
InventoryInsufficient with kafka-python), so that every transition of the
status machine can be driven on purpose, late and twice. Then
`order-service --rebuild` reads the topics into a fresh Redis database and
its read model must equal the live one, order by order.
"""

import json
import subprocess
import unittest

from harness import (BIN, StackTestCase, bin_argv, cloud_event, http, order_body, scaled,
                     wait_until)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def read_model(stack, db=0):
    """{orderId: {field: value}} of every order in database db, without
    updatedAt (the rebuild's own clock)."""
    script = ("local out = {} for _, k in ipairs(redis.call('KEYS', 'order:*')) do "
              "out[k] = redis.call('HGETALL', k) end return cjson.encode(out)")
    raw = stack.redis_cli("-n", db, "EVAL", script, 0)
    model = {}
    for key, flat in (json.loads(raw) if raw.startswith("{") else {}).items():
        fields = dict(zip(flat[0::2], flat[1::2]))
        fields.pop("updatedAt", None)
        model[key.split(":", 1)[1]] = fields
    return model


def run_rebuild(stack, db, timeout=120):
    env = stack.env(REDIS_URL="redis://127.0.0.1:%d/%d" % (stack.redis_port, db),
                    LOG_LEVEL="info")
    return subprocess.run(bin_argv("order-service", "--rebuild"), env=env, capture_output=True,
                          text=True, timeout=scaled(timeout))


class LifecycleTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        for p in (cls.order, cls.payment):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def post(self, body=None):
        status, _, order = http("POST", self.order.url + "/orders", body or order_body())
        self.assertEqual(status, 201, order)
        return order

    def get(self, oid):
        status, _, order = http("GET", self.order.url + "/orders/" + oid)
        self.assertEqual(status, 200, order)
        return order

    def wait_status(self, oid, status, reason=None):
        def there():
            o = self.get(oid)
            return o if o["status"] == status and o.get("reason") == reason else None
        return wait_until("order %s %s" % (oid, status), there, 30, 0.2)

    def inventory(self, type_, oid, items):
        """Plays inventory-service: one event for order oid."""
        topic = "inventory-reserved" if type_ == "InventoryReserved" else "inventory-insufficient"
        eid, value = cloud_event(type_, oid, {"orderId": oid, "items": items},
                                 source="/inventory-service")
        self.stack.kafka_produce(topic, oid, value)
        return eid, value

    def test_cancel_and_complete_follow_the_status_machine(self):
        url = self.order.url
        # PENDING or PAID -> cancel: 202, CANCELLED with the reason, and the
        # OrderCancelled event in the outbox, then on its topic.
        o = self.post()
        oid = o["orderId"]
        status, _, body = http("POST", url + "/orders/%s/cancel" % oid, None,
                               {"traceparent": TRACEPARENT})
        self.assertEqual(status, 202, body)
        self.assertEqual((body["status"], body["reason"]), ("CANCELLED", "cancelled"))
        self.assertEqual(body["orderId"], oid)
        # Terminal: a second cancel and a complete are refused, naming the status.
        for method, path in (("POST", "cancel"), ("PUT", "complete")):
            status, _, body = http(method, url + "/orders/%s/%s" % (oid, path))
            self.assertEqual(status, 409, body)
            self.assertEqual(body["error"]["code"], "INVALID_STATE")
            self.assertIn("CANCELLED", body["error"]["message"])
        created = wait_until("the OrderCreated event", lambda: [
            json.loads(r["value"]) for r in self.stack.kafka_records("order-created")
            if r["key"] == oid], 30)[0]
        recs = wait_until("the OrderCancelled event", lambda: [
            r for r in self.stack.kafka_records("order-cancelled") if r["key"] == oid], 30)
        self.assertEqual(len(recs), 1)
        ev = json.loads(recs[0]["value"])
        self.assertEqual((ev["type"], ev["source"], ev["subject"]),
                         ("OrderCancelled", "/order-service", oid))
        self.assertEqual(ev["data"], {"orderId": oid, "userId": "u1", "reason": "cancelled"})
        self.assertEqual(ev["correlationid"], created["correlationid"])
        self.assertEqual(ev["causationid"], created["id"])
        self.assertEqual(recs[0]["headers"]["traceparent"].decode(), TRACEPARENT)
        # Late events change nothing: a terminal status stays.
        self.inventory("InventoryReserved", oid, [{"productId": "p1", "quantity": 2}])
        marker = self.post()
        self.wait_status(marker["orderId"], "PAID")
        self.inventory("InventoryReserved", marker["orderId"], [{"productId": "p1", "quantity": 2}])
        self.wait_status(marker["orderId"], "CONFIRMED")
        self.assertEqual(self.get(oid)["status"], "CANCELLED")

        # PAID -> complete refused; CONFIRMED -> complete: 200, COMPLETED.
        o = self.post()
        oid = o["orderId"]
        self.wait_status(oid, "PAID")
        status, _, body = http("PUT", url + "/orders/%s/complete" % oid)
        self.assertEqual(status, 409, body)
        self.assertIn("PAID", body["error"]["message"])
        self.inventory("InventoryReserved", oid, [{"productId": "p1", "quantity": 2}])
        self.wait_status(oid, "CONFIRMED")
        status, _, body = http("PUT", url + "/orders/%s/complete" % oid)
        self.assertEqual((status, body["status"]), (200, "COMPLETED"), body)
        self.assertNotIn("reason", body)
        status, _, body = http("POST", url + "/orders/%s/cancel" % oid)
        self.assertEqual(status, 409, body)
        recs = wait_until("the OrderCompleted event", lambda: [
            r for r in self.stack.kafka_records("order-completed") if r["key"] == oid], 30)
        self.assertEqual(json.loads(recs[0]["value"])["data"], {"orderId": oid, "userId": "u1"})
        # An InventoryInsufficient (twice) after completion changes nothing.
        for _ in range(2):
            self.inventory("InventoryInsufficient", oid,
                           [{"productId": "p1", "requested": 2, "available": 0}])
        marker = self.post()
        self.inventory("InventoryInsufficient", marker["orderId"],
                       [{"productId": "p1", "requested": 2, "available": 0}])
        self.wait_status(marker["orderId"], "CANCELLED", "out of stock")
        self.assertEqual(self.get(oid)["status"], "COMPLETED")

        # A CONFIRMED order can still be cancelled.
        o = self.post()
        self.wait_status(o["orderId"], "PAID")
        self.inventory("InventoryReserved", o["orderId"], [{"productId": "p1", "quantity": 2}])
        self.wait_status(o["orderId"], "CONFIRMED")
        status, _, body = http("POST", url + "/orders/%s/cancel" % o["orderId"])
        self.assertEqual((status, body["status"]), (202, "CANCELLED"), body)

        # An order declined by payment cannot be cancelled or completed.
        o = self.post(order_body(price=20000))
        self.wait_status(o["orderId"], "PAYMENT_FAILED")
        for method, path in (("POST", "cancel"), ("PUT", "complete")):
            status, _, body = http(method, url + "/orders/%s/%s" % (o["orderId"], path))
            self.assertEqual(status, 409, body)

    def test_errors_are_json(self):
        url = self.order.url
        for method, path, code in (("POST", "/orders/no-such-order/cancel", 404),
                                   ("PUT", "/orders/no-such-order/complete", 404),
                                   ("GET", "/orders/x/cancel", 405),
                                   ("POST", "/orders/x/complete", 405),
                                   ("POST", "/orders/bad%20id/cancel", 404),
                                   ("POST", "/orders/a/b/cancel", 404)):
            status, hdrs, body = http(method, url + path)
            self.assertEqual(status, code, (method, path, body))
            self.assertIn("code", body["error"], (method, path))
            self.assertIn("message", body["error"], (method, path))
            if code == 405:
                self.assertEqual(hdrs.get("Allow"), "POST" if path.endswith("cancel") else "PUT")

    def test_z_rebuild_equals_live(self):
        """Runs last in the class (unittest sorts by name): the live model
        holds every order the other tests made, in every status."""
        s = self.stack
        # A few more orders, one still on its way, so the live model has a mix.
        extra = [self.post()["orderId"] for _ in range(5)]
        for oid in extra[:2]:
            self.wait_status(oid, "PAID")
        self.inventory("InventoryReserved", extra[0], [{"productId": "p1", "quantity": 2}])
        self.inventory("InventoryInsufficient", extra[1],
                       [{"productId": "p1", "requested": 2, "available": 1}])
        self.wait_status(extra[0], "CONFIRMED")
        self.wait_status(extra[1], "CANCELLED", "out of stock")

        # The live model is complete once no order is PENDING and the outbox
        # is empty (every event of the API is on its topic).
        def settled():
            model = read_model(s)
            pending = [o for o, f in model.items() if f["status"] == "PENDING"]
            return model if not pending and s.redis_cli("XLEN", "orders:outbox") == "0" else None
        live = wait_until("the live model to settle", settled, 60, 0.5)
        statuses = {f["status"] for f in live.values()}
        self.assertTrue({"PAID", "CONFIRMED", "COMPLETED", "CANCELLED", "PAYMENT_FAILED"}
                        <= statuses, statuses)

        r = run_rebuild(s, 1)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("rebuilt %d orders" % len(live), r.stdout)
        rebuilt = read_model(s, 1)
        self.assertEqual(sorted(rebuilt), sorted(live))
        for oid in live:
            self.assertEqual(rebuilt[oid], live[oid], oid)
        # Through the API as well: an order-service on the rebuilt database
        # answers the same documents.
        other = s.start_order("order-rebuilt",
                              REDIS_URL="redis://127.0.0.1:%d/1" % s.redis_port)
        for oid in list(live)[:10]:
            self.assertEqual(http("GET", other.url + "/orders/" + oid)[2],
                             http("GET", self.order.url + "/orders/" + oid)[2])
        other.stop()

        # Into a database that holds anything: refused, nothing written.
        r = run_rebuild(s, 1)
        self.assertEqual(r.returncode, 1)
        self.assertIn("fresh", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
