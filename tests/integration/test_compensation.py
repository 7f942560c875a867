"""The saga's compensation in payment-service, and the new notifications.

payment-service and notification-service run as separate processes against
the broker and redis-server. inventory-service and the order cancel endpoint
are not needed: the test produces the events they would publish
(OrderCreated, OrderCancelled, InventoryInsufficient, OrderCompleted,
UserRegistered) itself, as CloudEvents, and reads what payment-service
publishes from the broker and what notification-service writes from
NOTIFY_FILE (docs/saga.md, "payment-service").

Where a test asserts that something did not happen, it first waits for a
marker produced after the event in question to the same partition: the
consumer handles a partition in offset order, so once the marker's outcome
is visible the event before it has been handled too.
"""

import collections
import json
import unittest
import uuid

from harness import StackTestCase, read_notifications, wait_until

TIME = "2026-11-21T10:30:00.123Z"
DLT = "kafka_dlt-"


def cloud_event(type_, source, subject, data, event_id=None, correlation=None):
    event_id = event_id or str(uuid.uuid4())
    return {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
            "time": TIME, "datacontenttype": "application/json", "subject": subject,
            "correlationid": correlation or event_id, "causationid": event_id, "data": data}


class CompensationTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.payment = s.start_payment("payment-1")
        cls.notify = s.start_notification()
        for p in (cls.payment, cls.notify):
            s.wait_assigned(p)

    # ---- producing ---------------------------------------------------------------

    def new_order_id(self, tag):
        return "%s-%s" % (tag, uuid.uuid4().hex[:12])

    def produce(self, topic, ev, partition=None):
        """Produces ev keyed by its subject; returns its partition."""
        return self.stack.kafka_produce(topic, ev["subject"], json.dumps(ev),
                                        partition=partition)[0]

    def order_created(self, oid, price=50, user="u-comp", partition=None):
        ev = cloud_event("OrderCreated", "/order-service", oid, {
            "orderId": oid, "userId": user,
            "items": [{"productId": "p1", "quantity": 1, "price": price}],
            "total": price, "currency": "USD"})
        return ev, self.produce("order-created", ev, partition)

    def order_cancelled(self, oid, created=None, event_id=None, user="u-comp", partition=None,
                        reason="cancelled"):
        data = {"orderId": oid, "userId": user}
        if reason:
            data["reason"] = reason
        ev = cloud_event("OrderCancelled", "/order-service", oid, data, event_id,
                         created["correlationid"] if created else None)
        return ev, self.produce("order-cancelled", ev, partition)

    def inventory_insufficient(self, oid, created=None):
        ev = cloud_event("InventoryInsufficient", "/inventory-service", oid, {
            "orderId": oid, "items": [{"productId": "p1", "requested": 1, "available": 0}]},
            correlation=created["correlationid"] if created else None)
        return ev, self.produce("inventory-insufficient", ev)

    # ---- reading -----------------------------------------------------------------

    def events(self, topic, oid):
        """The records of topic keyed oid, each {"record", "event"}, in topic order."""
        return [{"record": r, "event": json.loads(r["value"])}
                for r in self.stack.kafka_records(topic) if r["key"] == oid]

    def wait_events(self, topic, oid, count=1, timeout=30):
        return wait_until("%d record(s) for %s on %s" % (count, oid, topic),
                          lambda: (lambda e: e if len(e) >= count else None)(
                              self.events(topic, oid)), timeout, 0.3)

    def processed(self, oid):
        """The PaymentProcessed event of oid, once it is on the topic."""
        return self.wait_events("payment-processed", oid)[0]["event"]

    def assert_one_refund(self, oid, processed, reasons):
        """Every refund record of oid carries the same event and the same
        bytes, derived from the payment event; returns the event."""
        recs = self.events("payment-refunded", oid)
        self.assertGreaterEqual(len(recs), 1)
        ids = {r["event"]["id"] for r in recs}
        self.assertEqual(len(ids), 1, "order %s refunded as %d events" % (oid, len(ids)))
        self.assertEqual(len({r["record"]["raw"] for r in recs}), 1,
                         "a stored refund was not republished unchanged")
        ev = recs[0]["event"]
        self.assertEqual(ev["type"], "PaymentRefunded")
        self.assertEqual(ev["source"], "/payment-service")
        self.assertEqual(ev["subject"], oid)
        self.assertEqual(ev["correlationid"], processed["correlationid"])
        self.assertEqual(ev["causationid"], processed["id"])
        self.assertEqual(ev["time"], processed["time"])
        data = ev["data"]
        self.assertEqual(data["orderId"], oid)
        self.assertEqual(data["paymentId"], processed["data"]["paymentId"])
        self.assertEqual(data["userId"], processed["data"]["userId"])
        self.assertEqual(data["amount"], processed["data"]["amount"])
        self.assertEqual(data["currency"], processed["data"]["currency"])
        self.assertIn(data["reason"], reasons)
        return ev

    def assert_undecided(self, oid):
        for topic in ("payment-processed", "payment-failed", "payment-refunded"):
            self.assertEqual(self.events(topic, oid), [], "%s has a record for %s" % (topic, oid))

    # ---- the cases -----------------------------------------------------------------

    def test_1_cancel_after_payment_refunds_once(self):
        oid = self.new_order_id("cancel-after")
        created, _ = self.order_created(oid, 50)
        processed = self.processed(oid)
        cancel, part = self.order_cancelled(oid, created)
        self.wait_events("payment-refunded", oid)
        refund = self.assert_one_refund(oid, processed, ["cancelled"])
        self.assertEqual(refund["data"]["reason"], "cancelled")
        self.assertEqual(refund["data"]["amount"], 50)

        # The same OrderCancelled again (a redelivery: skipped by its id),
        # then another one with a new id, which republishes the stored
        # refund: once its record is there, both were handled.
        self.produce("order-cancelled", cancel, part)
        self.order_cancelled(oid, created, partition=part)
        self.wait_events("payment-refunded", oid, 2)
        self.assertEqual(self.assert_one_refund(oid, processed, ["cancelled"])["id"],
                         refund["id"])
        self.assertEqual(len(self.events("payment-processed", oid)), 1)
        self.assertEqual(self.events("payment-failed", oid), [])

    def test_2_cancel_before_payment_charges_nothing(self):
        oid = self.new_order_id("cancel-first")
        self.order_cancelled(oid)
        wait_until("the tombstone for %s" % oid,
                   lambda: self.stack.redis_cli("GET", "payment:decision:" + oid) == "cancelled",
                   30, 0.2)
        # The OrderCreated that comes later, then a marker order behind it
        # in the same partition.
        _, part = self.order_created(oid, 50)
        marker = self.new_order_id("marker")
        self.order_created(marker, 50, partition=part)
        self.processed(marker)
        self.assertEqual(self.stack.redis_cli("GET", "payment:decision:" + oid), "cancelled")
        self.assert_undecided(oid)
        self.assertEqual(self.events("order-created-dlq", oid), [])
        # A second cancel finds the tombstone: still nothing.
        _, cpart = self.order_cancelled(oid)
        marker2 = self.new_order_id("marker")
        self.order_created(marker2, 50)
        self.processed(marker2)
        self.order_cancelled(marker2, partition=cpart)
        self.wait_events("payment-refunded", marker2)
        self.assert_undecided(oid)
        self.assertIn("order %s was cancelled before its payment: not charged" % oid,
                      self.payment.log_text())

    def test_3_out_of_stock_and_cancel_refund_once(self):
        oid = self.new_order_id("both")
        created, _ = self.order_created(oid, 75.25)
        processed = self.processed(oid)
        self.inventory_insufficient(oid, created)
        self.order_cancelled(oid, created)
        # Each cause publishes the refund: the first stores it, the second
        # republishes the stored one.
        self.wait_events("payment-refunded", oid, 2)
        refund = self.assert_one_refund(oid, processed, ["cancelled", "out of stock"])
        self.assertEqual(refund["data"]["amount"], 75.25)

    def test_4_failed_payment_is_not_refunded(self):
        oid = self.new_order_id("declined")
        created, _ = self.order_created(oid, 20000)
        failed = self.wait_events("payment-failed", oid)[0]["event"]
        self.assertEqual(failed["data"]["reason"], "amount exceeds limit")
        _, part = self.order_cancelled(oid, created)
        # A marker: a processed order cancelled behind it in the same
        # partition of order-cancelled.
        marker = self.new_order_id("marker")
        self.order_created(marker, 50)
        self.processed(marker)
        self.order_cancelled(marker, partition=part)
        self.wait_events("payment-refunded", marker)
        self.assertEqual(self.events("payment-refunded", oid), [])
        self.assertEqual(self.events("payment-processed", oid), [])

    def test_5_notifications_one_line_per_event_and_invalid_cancel_dead_lettered(self):
        oid = self.new_order_id("notified")
        created, _ = self.order_created(oid, 30, user="u-notified")
        processed = self.processed(oid)
        cancel, _ = self.order_cancelled(oid, created, user="u-notified")
        refund = self.wait_events("payment-refunded", oid)[0]["event"]
        done = self.new_order_id("completed")
        completed = cloud_event("OrderCompleted", "/order-service", done,
                                {"orderId": done, "userId": "u-done"})
        self.produce("order-completed", completed)
        user = "user-%s" % uuid.uuid4().hex[:12]
        registered = cloud_event("UserRegistered", "/user-service", user, {
            "userId": user, "name": "Ada Lovelace", "email": "ada@example.com", "age": 36,
            "createdAt": TIME})
        self.stack.kafka_produce("user-registered", user, json.dumps(registered))
        bad_oid = self.new_order_id("bad-cancel")
        bad, _ = self.order_cancelled(bad_oid, reason=None)

        expected = {
            created["id"]: ("ORDER_CONFIRMATION", oid, "u-notified"),
            processed["id"]: ("PAYMENT_RECEIPT", oid, "u-notified"),
            cancel["id"]: ("ORDER_CANCELLED", oid, "u-notified"),
            refund["id"]: ("REFUND_ISSUED", oid, "u-notified"),
            completed["id"]: ("ORDER_COMPLETED", done, "u-done"),
            registered["id"]: ("WELCOME", None, user),
        }
        path = self.notify.notify_file
        wait_until("a notification for each event",
                   lambda: expected.keys() <= {n["eventId"] for n in read_notifications(path)},
                   30, 0.3)

        # The invalid cancel goes to the DLQ, once per group that reads it.
        def dead_letters():
            groups = collections.Counter(
                r["headers"].get(DLT + "original-consumer-group", b"").decode()
                for r in self.stack.kafka_records("order-cancelled-dlq") if r["key"] == bad_oid)
            return groups if set(groups) >= {"payment-service", "notification-service"} else None
        groups = wait_until("the invalid OrderCancelled in order-cancelled-dlq", dead_letters,
                            30, 0.3)
        self.assertEqual(groups, {"payment-service": 1, "notification-service": 1})

        notes = read_notifications(path)
        per_event = collections.Counter(n["eventId"] for n in notes)
        self.assertEqual([e for e, c in per_event.items() if c > 1], [],
                         "events notified more than once")
        self.assertNotIn(bad["id"], per_event)
        by_event = {n["eventId"]: n for n in notes}
        for event_id, (type_, order_id, user_id) in expected.items():
            n = by_event[event_id]
            self.assertEqual(set(n), {"notificationId", "eventId", "type", "orderId", "userId",
                                      "channel", "message", "sentAt"})
            self.assertEqual((n["type"], n["orderId"], n["userId"]), (type_, order_id, user_id))
            self.assertEqual(n["channel"], "email")
        self.assertIn("Welcome, Ada Lovelace!", by_event[registered["id"]]["message"])
        self.assertIn(refund["data"]["paymentId"], by_event[refund["id"]]["message"])
        self.assertEqual(self.events("payment-refunded", bad_oid), [])


if __name__ == "__main__":
    unittest.main()
