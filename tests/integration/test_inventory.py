"""inventory-service: stock over HTTP, and one reservation outcome per order.

The events the service reacts to (PaymentProcessed with items,
OrderCancelled, OrderCompleted) are produced here as CloudEvents, or come
end to end from order-service and payment-service (POST /orders). What it
decided is read back from its topics and its HTTP API. The invariant every
case checks: available + reserved + shipped of a product changes only by
PUT /inventory.
"""

import collections
import json
import threading
import unittest
import uuid

from harness import REAL_KAFKA, StackTestCase, http, order_body, wait_until

OUTCOME_TOPICS = ("inventory-reserved", "inventory-insufficient")


def cloud_event(etype, source, subject, data, event_id=None):
    return json.dumps({"specversion": "1.0", "id": event_id or str(uuid.uuid4()),
                       "source": source, "type": etype, "time": "2026-01-02T03:04:05.000Z",
                       "datacontenttype": "application/json", "subject": subject,
                       "data": data})


def paid_event(order_id, items, event_id=None):
    data = {"orderId": order_id, "paymentId": "pay-" + order_id, "userId": "u1",
            "amount": 1, "currency": "USD",
            "items": [{"productId": p, "quantity": q} for p, q in items]}
    return cloud_event("PaymentProcessed", "/payment-service", order_id, data, event_id)


def new_id(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


class InventoryMixin:
    """Helpers over self.stack and self.inv (the inventory-service)."""

    def produce(self, topic, order_id, value):
        # One partition for everything a test produces: events are handled in
        # the order they were produced, so a later event's outcome shows that
        # the earlier ones were handled.
        self.stack.kafka_produce(topic, order_id, value, partition=0)

    def paid(self, order_id, items, event_id=None):
        self.produce("payment-processed", order_id, paid_event(order_id, items, event_id))

    def cancel(self, order_id):
        self.produce("order-cancelled", order_id, cloud_event(
            "OrderCancelled", "/order-service", order_id,
            {"orderId": order_id, "userId": "u1", "reason": "cancelled"}))

    def complete(self, order_id):
        self.produce("order-completed", order_id, cloud_event(
            "OrderCompleted", "/order-service", order_id, {"orderId": order_id, "userId": "u1"}))

    def put_stock(self, product, available):
        status, _, body = http("PUT", self.inv.url + "/inventory/" + product,
                               {"available": available})
        self.assertEqual(status, 200, body)
        return body

    def stock(self, product):
        status, _, body = http("GET", self.inv.url + "/inventory/" + product)
        self.assertEqual(status, 200, body)
        return body

    def records(self, topic, order_id):
        return [json.loads(r["value"]) for r in self.stack.kafka_records(topic)
                if r["key"] == order_id]

    def wait_records(self, topic, order_id, n=1):
        return wait_until("%d record(s) of %s on %s" % (n, order_id, topic),
                          lambda: (lambda rs: rs if len(rs) >= n else None)(
                              self.records(topic, order_id)), 30, 0.3)

    def sentinel(self):
        """Handles one more PaymentProcessed after everything produced so
        far and waits for its outcome: what came before is handled."""
        oid = new_id("sentinel")
        self.paid(oid, [("sentinel-product", 1)])
        self.wait_records("inventory-insufficient", oid)

    def assert_stock(self, product, available, reserved, shipped):
        self.assertEqual(self.stock(product), {"productId": product, "available": available,
                                               "reserved": reserved, "shipped": shipped})


class InventoryTest(InventoryMixin, StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.inv = s.start_inventory(RETRY_MAX=0)
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        for p in (cls.inv, cls.order, cls.payment):
            s.wait_assigned(p)
        s.wait_ready(cls.inv)

    def test_put_get_and_request_errors(self):
        url = self.inv.url + "/inventory/"
        p = new_id("put")
        # Never set: the default stock (0 here).
        self.assert_stock(p, 0, 0, 0)
        self.assertEqual(self.put_stock(p, 12), {"productId": p, "available": 12,
                                                 "reserved": 0, "shipped": 0})
        self.assert_stock(p, 12, 0, 0)
        self.assertEqual(self.put_stock(p, 2 ** 52)["available"], 2 ** 52)
        self.assertEqual(self.put_stock(p, 0)["available"], 0)

        def error(method, path, body, status, code, field=None, headers=None):
            st, hdrs, got = http(method, self.inv.url + path, body, headers)
            self.assertEqual(st, status, got)
            self.assertEqual(got["error"]["code"], code, got)
            if field:
                self.assertEqual(got["error"]["field"], field, got)
            return hdrs

        path = "/inventory/" + p
        error("PUT", path, b"{not json", 400, "INVALID_JSON")
        error("PUT", path, b"[1]", 400, "INVALID_JSON")
        error("PUT", path, {}, 400, "MISSING_FIELD", "available")
        for bad in (-1, 1.5, "5", None, 2 ** 52 + 1):
            error("PUT", path, {"available": bad}, 400, "INVALID_FIELD", "available")
        error("PUT", path, b'{"available":3}', 415, "UNSUPPORTED_MEDIA_TYPE",
              headers={"Content-Type": "text/plain"})
        hdrs = error("POST", path, {"available": 3}, 405, "METHOD_NOT_ALLOWED")
        self.assertIn("PUT", hdrs.get("Allow", ""))
        self.assertIn("GET", hdrs.get("Allow", ""))
        error("GET", "/inventory", None, 404, "NOT_FOUND")
        error("GET", "/inventory/bad%21id", None, 404, "NOT_FOUND")
        error("GET", "/inventory/" + p + "/more", None, 404, "NOT_FOUND")
        # Nothing of that changed the stock.
        self.assertEqual(http("GET", url + p)[2]["available"], 0)
        # Counted under the route's pattern.
        metrics = http("GET", self.inv.url + "/metrics")[2]
        self.assertRegex(metrics, r'http_requests_total\{route="/inventory/\{id\}",code="200"\} '
                                  r'[1-9]')
        self.assertRegex(metrics, r'http_requests_total\{route="/inventory/\{id\}",code="400"\} '
                                  r'[1-9]')

    def test_reserve_is_all_or_none_and_names_only_the_short_items(self):
        a, b, c = new_id("a"), new_id("b"), new_id("c")
        self.put_stock(a, 5)
        self.put_stock(b, 1)
        self.put_stock(c, 3)
        short = new_id("short")
        self.paid(short, [(a, 2), (b, 3)])
        ev = self.wait_records("inventory-insufficient", short)[0]
        self.assertEqual(ev["type"], "InventoryInsufficient")
        self.assertEqual(ev["source"], "/inventory-service")
        self.assertEqual(ev["subject"], short)
        self.assertEqual(ev["data"], {"orderId": short, "items": [
            {"productId": b, "requested": 3, "available": 1}]})
        self.assert_stock(a, 5, 0, 0)
        self.assert_stock(b, 1, 0, 0)
        # One product named twice: its whole demand (4) is checked against 3.
        dup = new_id("dup")
        self.paid(dup, [(c, 2), (a, 1), (c, 2)])
        ev = self.wait_records("inventory-insufficient", dup)[0]
        self.assertEqual(ev["data"]["items"], [{"productId": c, "requested": 4, "available": 3}])
        self.assert_stock(c, 3, 0, 0)
        self.assert_stock(a, 5, 0, 0)
        # Enough of everything: all reserved, merged per product.
        ok = new_id("ok")
        self.paid(ok, [(c, 1), (a, 5), (c, 2)])
        ev = self.wait_records("inventory-reserved", ok)[0]
        self.assertEqual(ev["type"], "InventoryReserved")
        self.assertEqual(ev["data"], {"orderId": ok, "items": [
            {"productId": c, "quantity": 3}, {"productId": a, "quantity": 5}]})
        self.assert_stock(a, 0, 5, 0)
        self.assert_stock(c, 0, 3, 0)
        self.assertEqual(self.records("inventory-insufficient", ok), [])
        # PUT sets available; what is reserved stays.
        self.assertEqual(self.put_stock(a, 7), {"productId": a, "available": 7, "reserved": 5,
                                                "shipped": 0})

    def test_redelivered_payment_reserves_once(self):
        p = new_id("redeliver")
        self.put_stock(p, 10)
        oid = new_id("order")
        first = str(uuid.uuid4())
        self.paid(oid, [(p, 4)], first)
        ev = self.wait_records("inventory-reserved", oid)[0]
        self.assertEqual(ev["causationid"], first)
        # The same event again (skipped as a duplicate), then a new event for
        # the same order (payment-service re-deciding): the stored outcome
        # is published again, byte for byte; nothing more is reserved.
        self.paid(oid, [(p, 4)], first)
        self.paid(oid, [(p, 4)])
        recs = wait_until("the outcome republished", lambda: (lambda rs: rs if len(rs) >= 2
                          else None)([r for r in self.stack.kafka_records("inventory-reserved")
                                      if r["key"] == oid]), 30, 0.3)
        self.assertEqual(len({r["raw"] for r in recs}), 1, "republished bytes differ")
        self.sentinel()
        self.assertEqual(len(self.records("inventory-reserved", oid)), 2)
        self.assert_stock(p, 6, 4, 0)

    def test_cancel_after_reserve_releases_once(self):
        p = new_id("release")
        self.put_stock(p, 3)
        oid = new_id("order")
        self.paid(oid, [(p, 2)])
        self.wait_records("inventory-reserved", oid)
        self.assert_stock(p, 1, 2, 0)
        self.cancel(oid)
        ev = self.wait_records("inventory-released", oid)[0]
        self.assertEqual(ev["type"], "InventoryReleased")
        self.assertEqual(ev["data"], {"orderId": oid, "items": [{"productId": p, "quantity": 2}]})
        self.assert_stock(p, 3, 0, 0)
        # A second OrderCancelled (a new id): the stored release again, no
        # units given back twice.
        self.cancel(oid)
        recs = self.wait_records("inventory-released", oid, 2)
        self.assertEqual({r["id"] for r in recs}, {ev["id"]})
        self.assert_stock(p, 3, 0, 0)
        # A PaymentProcessed redelivered now reserves nothing.
        self.paid(oid, [(p, 2)])
        self.sentinel()
        self.assert_stock(p, 3, 0, 0)

    def test_cancel_before_payment_leaves_a_tombstone(self):
        p = new_id("tomb")
        self.put_stock(p, 3)
        oid = new_id("order")
        self.cancel(oid)
        self.paid(oid, [(p, 1)])
        self.sentinel()
        for topic in OUTCOME_TOPICS + ("inventory-released",):
            self.assertEqual(self.records(topic, oid), [], topic)
        self.assert_stock(p, 3, 0, 0)
        self.assertEqual(self.stack.redis_cli("HGET", "inventory:order:" + oid, "state"),
                         "cancelled")

    def test_complete_ships_what_is_reserved(self):
        p = new_id("ship")
        self.put_stock(p, 4)
        oid = new_id("order")
        self.paid(oid, [(p, 3)])
        self.wait_records("inventory-reserved", oid)
        self.complete(oid)
        wait_until("the units shipped", lambda: self.stock(p)["shipped"] == 3, 30, 0.2)
        self.assert_stock(p, 1, 0, 3)
        # Completed again, or cancelled after shipping: nothing moves.
        self.complete(oid)
        self.cancel(oid)
        self.sentinel()
        self.assert_stock(p, 1, 0, 3)
        self.assertEqual(self.records("inventory-released", oid), [])
        # Completing an order that never reserved ships nothing.
        other = new_id("order")
        self.complete(other)
        self.sentinel()
        self.assert_stock(p, 1, 0, 3)

    def test_invalid_events_are_dead_lettered(self):
        oid = new_id("bad")
        self.produce("payment-processed", oid, cloud_event(
            "PaymentProcessed", "/payment-service", oid,
            {"orderId": oid, "paymentId": "x", "amount": 1, "currency": "USD",
             "items": [{"productId": "p", "quantity": 0}]}))
        self.produce("order-cancelled", oid, cloud_event(
            "OrderCancelled", "/order-service", oid, {"orderId": oid}))  # no reason
        self.produce("order-completed", oid, cloud_event(
            "OrderCompleted", "/order-service", "another-order", {"orderId": oid}))
        for topic in ("payment-processed-dlq", "order-cancelled-dlq", "order-completed-dlq"):
            wait_until("%s on %s" % (oid, topic),
                       lambda: [r for r in self.stack.kafka_records(topic) if r["key"] == oid],
                       30, 0.3)
        self.assertEqual(self.stack.redis_cli("EXISTS", "inventory:order:" + oid), "0")

    def test_concurrent_orders_never_oversell(self):
        p = new_id("hot")
        self.put_stock(p, 5)
        order_ids, lock = [], threading.Lock()

        def post(n):
            for i in range(n):
                st, _, body = http("POST", self.order.url + "/orders", order_body(
                    "buyer", items=[{"productId": p, "quantity": 1, "price": 1.5}]))
                with lock:
                    order_ids.append(body["orderId"] if st == 201 else (st, body))

        threads = [threading.Thread(target=post, args=(5,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(order_ids), 20)
        self.assertTrue(all(isinstance(o, str) for o in order_ids), order_ids)

        def outcomes():
            got = {t: [r for r in self.stack.kafka_records(t) if r["key"] in order_ids]
                   for t in OUTCOME_TOPICS}
            keys = {r["key"] for rs in got.values() for r in rs}
            return got if keys == set(order_ids) else None
        got = wait_until("an outcome for each of the 20 orders", outcomes, 60, 0.5)
        self.assertEqual(len(got["inventory-reserved"]), 5)
        self.assertEqual(len(got["inventory-insufficient"]), 15)
        for r in got["inventory-insufficient"]:
            self.assertEqual(json.loads(r["value"])["data"]["items"],
                             [{"productId": p, "requested": 1, "available": 0}])
        self.assert_stock(p, 0, 5, 0)


class InventoryCrashTest(InventoryMixin, StackTestCase):
    """kill -9 in the middle of a stream of PaymentProcessed events."""

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker(control=True)
        cls.inv = s.start_inventory("inventory-1")
        s.wait_assigned(cls.inv)

    def test_kill_9_mid_stream_then_one_outcome_per_order(self):
        s = self.stack
        p = new_id("crash")
        self.put_stock(p, 30)
        orders = ["o%02d-%s" % (i, uuid.uuid4().hex[:8]) for i in range(60)]
        # On the dev broker every request takes a second, so a batch's
        # outcomes sit stored in Redis while their publishes wait for the
        # broker: the kill lands between the store and the done-mark, and the
        # next instance meets those events again. (A real cluster has no
        # such knob: there the kill lands wherever it lands.)
        slowed = not REAL_KAFKA
        if slowed:
            self.assertEqual(s.broker_command("rtt all 1000"), "ok")
        s.kafka_produce_batch("payment-processed",
                              [(o, paid_event(o, [(p, 1)]), i % 2)
                               for i, o in enumerate(orders[:40])])
        wait_until("the first outcomes stored",
                   lambda: s.redis_cli("KEYS", "inventory:order:o*"), 30, 0.05)
        self.inv.kill()
        if slowed:
            self.assertEqual(s.broker_command("rtt all 0"), "ok")
        s.kafka_produce_batch("payment-processed",
                              [(o, paid_event(o, [(p, 1)]), i % 2)
                               for i, o in enumerate(orders[40:])])
        self.inv = s.start_inventory("inventory-2")

        def all_decided():
            ids = collections.defaultdict(set)
            for t in OUTCOME_TOPICS:
                for r in s.kafka_records(t):
                    if r["key"] in orders:
                        ids[r["key"]].add((t, json.loads(r["value"])["id"]))
            return ids if len(ids) == len(orders) else None
        ids = wait_until("an outcome for each of the 60 orders", all_decided, 90, 0.5)
        for o in orders:
            self.assertEqual(len(ids[o]), 1, "order %s: %s" % (o, ids[o]))
        reserved = [o for o in orders if next(iter(ids[o]))[0] == "inventory-reserved"]
        self.assertEqual(len(reserved), 30)
        st = self.stock(p)
        self.assertEqual((st["available"], st["reserved"], st["shipped"]), (0, 30, 0))
        if slowed:
            # The restarted instance met outcomes the killed one had stored.
            again = [l for l in self.inv.log_lines()
                     if "reservation for o" in l.get("msg", "") and ": stored " in l["msg"]]
            self.assertTrue(again, "the kill did not land between a store and its done-mark")


if __name__ == "__main__":
    unittest.main()
