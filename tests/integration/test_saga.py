"""The order saga (docs/saga.md): the order lifecycle, the whole saga with
every service, and the read model rebuilt from the topics.

LifecycleTest runs order-service and payment-service and plays
inventory-service itself (it produces InventoryReserved and
InventoryInsufficient with kafka-python), so that every transition of the
status machine can be driven on purpose, late and twice. Then
`order-service --rebuild` reads the topics into a fresh Redis database and
its read model must equal the live one, order by order.
"""

import collections
import json
import subprocess
import threading
import unittest

from harness import (StackTestCase, bin_argv, cloud_event, http, is_child_span, order_body,
                     read_notifications, scaled, wait_until)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

# What each group of the saga consumes (docs/saga.md).
SAGA_GROUPS = {
    "payment-service": ["order-created", "inventory-insufficient", "order-cancelled"],
    "inventory-service": ["payment-processed", "order-cancelled", "order-completed"],
    "order-service": ["payment-processed", "payment-failed", "inventory-reserved",
                      "inventory-insufficient"],
    "notification-service": ["order-created", "payment-processed", "payment-failed",
                             "payment-refunded", "order-cancelled", "order-completed",
                             "user-registered"],
}


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
        self.assertTrue(is_child_span(recs[0]["headers"]["traceparent"], TRACEPARENT))
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
        # A record the live consumer dead-letters for its content type (not
        # a structured CloudEvent) must not move the rebuilt order either.
        _, value = cloud_event("InventoryInsufficient", extra[0], {
            "orderId": extra[0], "items": [{"productId": "p1", "requested": 2, "available": 0}]},
            source="/inventory-service")
        self.stack.kafka_produce("inventory-insufficient", extra[0], value,
                                 headers=[("content-type", "application/avro")])
        wait_until("the binary-mode record dead-lettered", lambda: [
            r for r in s.kafka_records("inventory-insufficient-dlq") if r["key"] == extra[0]
            and r["headers"].get("kafka_dlt-original-consumer-group") == b"order-service"], 30)

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
        self.assertIn("not a structured-mode CloudEvent", r.stderr)
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


class SagaBase(StackTestCase):
    """Every service of the saga, each its own process."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.start_services(s)

    @classmethod
    def start_services(cls, s):
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        cls.inventory = s.start_inventory()
        cls.notify = s.start_notification()
        cls.user = s.start_user()
        cls.notify_file = cls.notify.notify_file
        for p in (cls.order, cls.payment, cls.inventory, cls.notify):
            s.wait_assigned(p)
        for p in (cls.order, cls.user, cls.inventory):
            s.wait_ready(p)

    # ---- helpers -----------------------------------------------------------

    def record_counts(self):
        return tuple(len(self.stack.kafka_records(t))
                     for t in sorted({t for ts in SAGA_GROUPS.values() for t in ts}))

    def set_stock(self, product, n):
        status, _, body = http("PUT", self.inventory.url + "/inventory/" + product,
                               {"available": n})
        self.assertEqual(status, 200, body)
        return body

    def stock(self, product):
        status, _, body = http("GET", self.inventory.url + "/inventory/" + product)
        self.assertEqual(status, 200, body)
        return body

    def post(self, product, qty, price=10, user="u1"):
        status, _, order = http("POST", self.order.url + "/orders", order_body(
            user, items=[{"productId": product, "quantity": qty, "price": price}]))
        self.assertEqual(status, 201, order)
        return order["orderId"]

    def cancel(self, oid):
        return http("POST", self.order.url + "/orders/%s/cancel" % oid)

    def status_of(self, oid):
        o = http("GET", self.order.url + "/orders/" + oid)[2]
        return (o["status"], o.get("reason"))

    def wait_status(self, oid, status, reason=None, timeout=60):
        return wait_until("order %s %s %s" % (oid, status, reason or ""),
                          lambda: self.status_of(oid) == (status, reason) or None, timeout, 0.2)

    def events(self, topic):
        """{orderId: {event id: event}} of a topic (a record the relay
        published twice counts once: same id)."""
        out = collections.defaultdict(dict)
        for r in self.stack.kafka_records(topic):
            ev = json.loads(r["value"])
            out[r["key"]][ev["id"]] = ev
        return out

    def check_invariants(self, orders, cancelled, stock_set):
        """orders: every accepted order id; cancelled: those the customer
        cancelled (202); stock_set: {product: units PUT}. Waits until every
        order is terminal or CONFIRMED, then checks the saga's invariants."""
        def settled():
            st = self.stack.order_statuses(orders)
            return None if {"PENDING", "PAID"} & set(st.values()) else st
        wait_until("every order to settle", settled, scaled(120), 1.0)
        # Compensation may still be on its way after the status settled (a
        # refund follows the cancel): wait until every group has handled
        # everything, twice in a row with nothing new in between.
        seen = []

        def caught_up():
            seen.append(self.stack.groups_caught_up(SAGA_GROUPS) and self.record_counts())
            return len(seen) >= 2 and seen[-1] and seen[-1] == seen[-2] or None
        wait_until("every group to catch up", caught_up, scaled(120), 1.0)
        decisions = self.events("payment-processed")
        failed = self.events("payment-failed")
        refunds = self.events("payment-refunded")
        reserved = self.events("inventory-reserved")
        short = self.events("inventory-insufficient")
        released = self.events("inventory-released")
        model = read_model(self.stack)
        for oid in orders:
            st, reason = model[oid]["status"], model[oid].get("reason")
            paid = len(decisions[oid])
            # One payment decision per order, ever (none when cancelled first).
            self.assertLessEqual(paid + len(failed[oid]), 1, oid)
            # At most one refund, and only of a payment made.
            self.assertLessEqual(len(refunds[oid]), 1, oid)
            self.assertLessEqual(len(refunds[oid]), paid, oid)
            # One inventory outcome; at most one release, only of a reservation.
            self.assertLessEqual(len(reserved[oid]) + len(short[oid]), 1, oid)
            self.assertLessEqual(len(released[oid]), len(reserved[oid]), oid)
            if oid in cancelled:
                self.assertEqual((st, reason), ("CANCELLED", "cancelled"), oid)
            if st == "CONFIRMED":
                self.assertEqual((len(reserved[oid]), len(refunds[oid])), (1, 0), oid)
            if (st, reason) == ("CANCELLED", "out of stock"):
                self.assertEqual((len(short[oid]), len(refunds[oid])), (1, 1), oid)
            if st == "CANCELLED" and paid:
                # Compensated: refunded, and what was reserved given back.
                self.assertEqual(len(refunds[oid]), 1, oid)
                self.assertEqual(len(released[oid]), len(reserved[oid]), oid)
            if st == "PAYMENT_FAILED":
                self.assertEqual(len(failed[oid]), 1, oid)
        # Stock is conserved and never negative.
        for product, n in stock_set.items():
            st = self.stock(product)
            self.assertGreaterEqual(min(st["available"], st["reserved"], st["shipped"]), 0)
            self.assertEqual(st["available"] + st["reserved"] + st["shipped"], n, st)
        # One notification per event.
        per_event = collections.Counter(n["eventId"] for n in read_notifications(self.notify_file))
        self.assertEqual([e for e, c in per_event.items() if c > 1], [])


class SagaTest(SagaBase):

    def test_a_story(self):
        """The tutorials' story: paid and confirmed, out of stock and
        refunded, cancelled by the customer, completed; a user welcomed."""
        self.set_stock("widget", 10)
        self.set_stock("gadget", 1)
        self.assertEqual(self.stock("never-set"),
                         {"productId": "never-set", "available": 0, "reserved": 0, "shipped": 0})

        confirmed = self.post("widget", 3)
        short = self.post("gadget", 2)
        to_cancel = self.post("widget", 2)
        to_complete = self.post("widget", 1)
        self.wait_status(confirmed, "CONFIRMED")
        self.wait_status(short, "CANCELLED", "out of stock")
        self.wait_status(to_cancel, "CONFIRMED")
        self.wait_status(to_complete, "CONFIRMED")
        self.assertEqual(self.stock("widget")["reserved"], 6)
        self.assertEqual(self.stock("gadget"), {"productId": "gadget", "available": 1,
                                                "reserved": 0, "shipped": 0})

        status, _, body = self.cancel(to_cancel)
        self.assertEqual((status, body["status"], body["reason"]), (202, "CANCELLED", "cancelled"))
        status, _, body = http("PUT", self.order.url + "/orders/%s/complete" % to_complete)
        self.assertEqual((status, body["status"]), (200, "COMPLETED"), body)
        wait_until("the cancelled order's units back", lambda: self.stock("widget")["available"]
                   == 6 or None, 30, 0.2)
        wait_until("the completed order's unit shipped",
                   lambda: self.stock("widget")["shipped"] == 1 or None, 30, 0.2)
        self.assertEqual(self.stock("widget"), {"productId": "widget", "available": 6,
                                                "reserved": 3, "shipped": 1})

        refunds = wait_until("two refunds", lambda: (lambda r: r if len(r) == 2 else None)(
            {k: list(v.values()) for k, v in self.events("payment-refunded").items()}), 30)
        self.assertEqual(sorted(refunds), sorted([short, to_cancel]))
        self.assertEqual(refunds[short][0]["data"]["reason"], "out of stock")
        self.assertEqual(refunds[to_cancel][0]["data"]["reason"], "cancelled")
        paid = self.events("payment-processed")
        for oid in (short, to_cancel):
            self.assertEqual(refunds[oid][0]["data"]["paymentId"],
                             list(paid[oid].values())[0]["data"]["paymentId"])

        status, _, user = http("POST", self.user.url + "/users",
                               {"name": "Ada", "email": "ada@example.com", "age": 36})
        self.assertEqual(status, 201, user)

        want = {confirmed: ["ORDER_CONFIRMATION", "PAYMENT_RECEIPT"],
                short: ["ORDER_CONFIRMATION", "PAYMENT_RECEIPT", "REFUND_ISSUED"],
                to_cancel: ["ORDER_CANCELLED", "ORDER_CONFIRMATION", "PAYMENT_RECEIPT",
                            "REFUND_ISSUED"],
                to_complete: ["ORDER_COMPLETED", "ORDER_CONFIRMATION", "PAYMENT_RECEIPT"]}

        def notified():
            notes = read_notifications(self.notify_file)
            per = collections.defaultdict(list)
            for n in notes:
                per[n["orderId"] or n["userId"]].append(n["type"])
            done = all(sorted(per[o]) == t for o, t in want.items()) and \
                per[user["userId"]] == ["WELCOME"]
            return notes if done else None
        notes = wait_until("every notification of the story", notified, 30, 0.3)
        welcome = [n for n in notes if n["type"] == "WELCOME"][0]
        self.assertIsNone(welcome["orderId"])
        self.assertIn("Ada", welcome["message"])
        self.check_invariants([confirmed, short, to_cancel, to_complete], {to_cancel},
                              {"widget": 10, "gadget": 1})

    def test_b_concurrent_orders_for_scarce_stock(self):
        """Many orders from several clients at once for 5 units: exactly 5
        reserved, every other one cancelled with one refund."""
        self.set_stock("scarce", 5)
        accepted, lock = [], threading.Lock()

        def client(n):
            for _ in range(n):
                status, _, order = http("POST", self.order.url + "/orders", order_body(
                    "c", items=[{"productId": "scarce", "quantity": 1, "price": 3}]))
                if status == 201:
                    with lock:
                        accepted.append(order["orderId"])
        threads = [threading.Thread(target=client, args=(6,)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(accepted), 30)
        self.check_invariants(accepted, set(), {"scarce": 5})
        st = self.stack.order_statuses(accepted)
        self.assertEqual(collections.Counter(st.values()), {"CONFIRMED": 5, "CANCELLED": 25})
        self.assertEqual(self.stock("scarce"), {"productId": "scarce", "available": 0,
                                                "reserved": 5, "shipped": 0})
        refunds = self.events("payment-refunded")
        self.assertEqual(sum(len(refunds[o]) for o in accepted), 25)

    def test_c_cancel_racing_the_payment_decision(self):
        """A cancel sent right after the order, again and again: never
        charged without a refund, never refunded twice, stock conserved."""
        self.set_stock("race", 1000)
        orders, cancelled = [], set()
        for _ in range(40):
            oid = self.post("race", 1)
            orders.append(oid)
            status, _, body = self.cancel(oid)
            self.assertEqual(status, 202, body)
            cancelled.add(oid)
        self.check_invariants(orders, cancelled, {"race": 1000})
        paid = self.events("payment-processed")
        refunds = self.events("payment-refunded")
        for oid in orders:
            self.assertEqual(len(refunds[oid]), len(paid[oid]), oid)
        wait_until("every unit back", lambda: self.stock("race")["available"] == 1000 or None,
                   30, 0.3)

    def test_z_rebuild_equals_live(self):
        """After the others: the rebuilt model equals the live one."""
        s = self.stack

        def settled():
            model = read_model(s)
            busy = [o for o, f in model.items() if f["status"] in ("PENDING", "PAID")]
            return model if not busy and s.redis_cli("XLEN", "orders:outbox") == "0" else None
        live = wait_until("the live model to settle", settled, 60, 0.5)
        r = run_rebuild(s, 2)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("rebuilt %d orders" % len(live), r.stdout)
        self.assertEqual(read_model(s, 2), live)


class SagaCrashTest(SagaBase):
    """kill -9 of inventory-service and payment-service in the middle of a
    stream of orders and cancels: the invariants still hold."""

    def test_kill_inventory_and_payment_mid_stream(self):
        s = self.stack
        self.set_stock("crash-a", 40)
        self.set_stock("crash-b", 15)
        orders, cancelled, lock = [], set(), threading.Lock()
        stop = threading.Event()

        def client(k):
            i = 0
            while not stop.is_set():
                i += 1
                product = "crash-a" if i % 3 else "crash-b"
                try:
                    oid = self.post(product, 1 + i % 2)
                except (AssertionError, OSError):
                    continue
                with lock:
                    orders.append(oid)
                if (i + k) % 4 == 0:
                    status = self.cancel(oid)[0]
                    if status == 202:
                        with lock:
                            cancelled.add(oid)
                stop.wait(0.02)
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(3)]
        for t in threads:
            t.start()
        for victim, start in ((self.inventory, s.start_inventory), (self.payment, s.start_payment),
                              (self.inventory, s.start_inventory)):
            n = len(orders)
            wait_until("orders to flow", lambda: len(orders) >= n + 25 or None, 60, 0.1)
            victim.kill()
            victim.crashed = True
            restarted = start(victim.name)
            if victim is self.inventory:
                type(self).inventory = restarted
            else:
                type(self).payment = restarted
        n = len(orders)
        wait_until("orders to flow", lambda: len(orders) >= n + 20 or None, 60, 0.1)
        stop.set()
        for t in threads:
            t.join()
        self.check_invariants(list(orders), cancelled, {"crash-a": 40, "crash-b": 15})


if __name__ == "__main__":
    unittest.main(verbosity=2)
