#!/usr/bin/env python3
"""The events on the topics, checked by tools this project did not write.

- The CloudEvents SDK for Python (PyPI `cloudevents`, its Kafka binding)
  reads every event the saga leaves on the suite's topics, and writes an
  OrderCreated that the services then handle like their own.
- python3-jsonschema (Draft 2020-12) validates each event's `data` against
  the schema in docs/schemas whose `$id` is the event's `dataschema`.
- Versions: PaymentFailed version 1 (as written before versions existed) and
  version 2 both move an order to PAYMENT_FAILED and give a notification;
  a version newer than the consumers know, an unknown dataschema and a
  binary-mode content type go to the dead-letter topic with their reason.

Everything runs against the daemons as separate processes, on the dev
broker or on kafka-local (EB_TEST_BROKER=kafka).
"""

import glob
import json
import os
import unittest
import uuid

import jsonschema
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from harness import StackTestCase, http, cloud_event, read_notifications, wait_until

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCHEMA_DIR = os.path.join(ROOT, "docs", "schemas")
CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"
EVENT_TOPICS = {
    "OrderCreated": "order-created", "PaymentProcessed": "payment-processed",
    "PaymentFailed": "payment-failed", "PaymentRefunded": "payment-refunded",
    "InventoryReserved": "inventory-reserved",
    "InventoryInsufficient": "inventory-insufficient",
    "InventoryReleased": "inventory-released", "OrderCancelled": "order-cancelled",
    "OrderCompleted": "order-completed", "UserRegistered": "user-registered",
    "UserUpdated": "user-updated",
}
URN = "urn:eventbus:schema:%s:%d"


def load_schemas():
    """{$id: schema} of docs/schemas, each checked as a 2020-12 schema and
    named <Type>.v<N>.json after its $id."""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(SCHEMA_DIR, "*.json"))):
        with open(path) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        etype, version = os.path.basename(path)[:-len(".json")].split(".v")
        if schema["$id"] != URN % (etype, int(version)):
            raise AssertionError("%s: $id %s" % (path, schema["$id"]))
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            raise AssertionError("%s: not draft 2020-12" % path)
        schemas[schema["$id"]] = schema
    return schemas


def validate(schemas, dataschema, data):
    """Raises unless data validates against the schema whose $id is dataschema."""
    schema = schemas[dataschema]
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(data)


def sdk_event(record):
    """The record as the CloudEvents SDK's Kafka binding reads it."""
    return from_kafka(KafkaMessage(headers=record["headers"], key=record["key"].encode(),
                                   value=record["raw"]), JSONFormat())


class EventsOnTheTopics(StackTestCase):
    """The whole saga once, then every event on every topic checked."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        cls.inventory = s.start_inventory()
        cls.user = s.start_user()
        cls.notify = s.start_notification()
        for p in (cls.order, cls.inventory, cls.user):
            s.wait_ready(p)
        for p in (cls.payment, cls.inventory, cls.notify):
            s.wait_assigned(p)

    def post_order(self, product, qty=1, price=10):
        status, _, body = http("POST", self.order.url + "/orders", {
            "userId": "u-contract",
            "items": [{"productId": product, "quantity": qty, "price": price}]})
        self.assertEqual(status, 201, body)
        return body["orderId"]

    def wait_status(self, oid, want):
        wait_until("order %s %s" % (oid, want), lambda: http(
            "GET", self.order.url + "/orders/" + oid)[2].get("status") == want, 60, 0.2)

    def test_every_event_is_a_structured_cloudevent_valid_against_its_schema(self):
        schemas = load_schemas()
        tag = uuid.uuid4().hex[:8]
        ok, short = "p-ok-" + tag, "p-short-" + tag
        for product, n in ((ok, 10), (short, 0)):
            status, _, body = http("PUT", self.inventory.url + "/inventory/" + product,
                                   {"available": n})
            self.assertEqual(status, 200, body)
        done = self.post_order(ok)             # confirmed, then completed
        refunded = self.post_order(short)      # out of stock: refunded, cancelled
        cancelled = self.post_order(ok)        # confirmed, then cancelled: released, refunded
        failed = self.post_order(ok, 1, 20000)  # above the payment limit
        # The SDK writes an OrderCreated of its own; payment-service decides it.
        sdk_oid = "sdk-" + tag
        sdk = CloudEvent({"id": str(uuid.uuid4()), "source": "/cloudevents-sdk",
                          "type": "OrderCreated", "subject": sdk_oid,
                          "datacontenttype": "application/json",
                          "dataschema": URN % ("OrderCreated", 1), "partitionkey": sdk_oid},
                         {"orderId": sdk_oid, "userId": "u-sdk", "currency": "USD",
                          "items": [{"productId": ok, "quantity": 1, "price": 1}], "total": 1})
        msg = to_structured(sdk, JSONFormat())
        self.assertEqual(msg.headers["content-type"], b"application/cloudevents+json")
        self.stack.kafka_produce("order-created", msg.key, msg.value,
                                 headers=list(msg.headers.items()))
        for oid in (done, cancelled):
            self.wait_status(oid, "CONFIRMED")
        self.assertEqual(http("PUT", self.order.url + "/orders/%s/complete" % done)[0], 200)
        self.assertEqual(http("POST", self.order.url + "/orders/%s/cancel" % cancelled)[0], 202)
        self.wait_status(refunded, "CANCELLED")
        self.wait_status(failed, "PAYMENT_FAILED")
        status, _, u = http("POST", self.user.url + "/users",
                            {"name": "Ada", "email": "ada-%s@example.com" % tag, "age": 36})
        self.assertEqual(status, 201, u)
        self.assertEqual(http("PUT", self.user.url + "/users/" + u["userId"],
                              {"name": "Ada L.", "email": "ada-%s@example.com" % tag})[0], 200)
        keys = {done, refunded, cancelled, failed, sdk_oid, u["userId"]}
        want = {"OrderCreated": 5, "PaymentProcessed": 4, "PaymentFailed": 1,
                "PaymentRefunded": 2, "InventoryReserved": 3, "InventoryInsufficient": 1,
                "InventoryReleased": 1, "OrderCancelled": 1, "OrderCompleted": 1,
                "UserRegistered": 1, "UserUpdated": 1}

        def ours():
            got = {t: [r for r in self.stack.kafka_records(EVENT_TOPICS[t]) if r["key"] in keys]
                   for t in want}
            return got if all(len(got[t]) >= n for t, n in want.items()) else None
        records = wait_until("every event of the saga on its topic", ours, 90, 0.5)
        checked = 0
        for etype, recs in records.items():
            for r in recs:
                if r["key"] == sdk_oid and etype == "OrderCreated":
                    continue  # the SDK's own, above
                where = "%s %s[%d]@%d" % (etype, EVENT_TOPICS[etype], r["partition"], r["offset"])
                self.assertEqual(r["headers"].get("content-type"), CONTENT_TYPE, where)
                ev = sdk_event(r)
                attrs = ev.get_attributes()
                self.assertEqual(attrs["specversion"], "1.0", where)
                self.assertEqual(attrs["type"], etype, where)
                self.assertEqual(attrs["subject"], r["key"], where)
                self.assertEqual(attrs["datacontenttype"], "application/json", where)
                version = 2 if etype == "PaymentFailed" else 1
                self.assertEqual(attrs.get("dataschema"), URN % (etype, version), where)
                try:
                    validate(schemas, attrs["dataschema"], ev.get_data())
                except jsonschema.ValidationError as e:
                    self.fail("%s: data breaks %s: %s" % (where, attrs["dataschema"], e.message))
                checked += 1
        self.assertGreaterEqual(checked, sum(want.values()) - 1)
        # The SDK's event was handled like any other: decided, reserved.
        self.wait_status_of_events(sdk_oid)
        print("checked %d events of %d types with the CloudEvents SDK and jsonschema"
              % (checked, len(want)))

    def wait_status_of_events(self, oid):
        wait_until("the SDK's order decided and reserved", lambda: all(
            [r for r in self.stack.kafka_records(t) if r["key"] == oid]
            for t in ("payment-processed", "inventory-reserved")), 60, 0.5)

    def test_every_schema_is_valid_and_named_by_its_id(self):
        schemas = load_schemas()
        for etype in EVENT_TOPICS:
            self.assertIn(URN % (etype, 1), schemas, etype)
        self.assertIn(URN % ("PaymentFailed", 2), schemas)
        # The schemas can fail: a wrong type and a missing field are refused.
        with self.assertRaises(jsonschema.ValidationError):
            validate(schemas, URN % ("PaymentFailed", 2),
                     {"orderId": "o", "amount": 1, "currency": "USD", "reason": "x"})
        with self.assertRaises(jsonschema.ValidationError):
            validate(schemas, URN % ("OrderCreated", 1),
                     {"orderId": "o", "userId": "u", "items": [], "total": "1",
                      "currency": "USD"})


class Versions(StackTestCase):
    """order-service's status consumer and notification-service meet every
    version of PaymentFailed, with no payment-service running: the test
    plays it."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.notify = s.start_notification()
        s.wait_ready(cls.order)
        s.wait_assigned(cls.notify)

    def pending_order(self):
        status, _, body = http("POST", self.order.url + "/orders", {
            "userId": "u-versions", "items": [{"productId": "p1", "quantity": 1, "price": 20000}]})
        self.assertEqual(status, 201, body)
        return body

    def payment_failed(self, order, dataschema=None, code=None, content_type=CONTENT_TYPE):
        data = {"orderId": order["orderId"], "userId": order["userId"], "amount": 20000,
                "currency": "USD", "reason": "amount exceeds limit"}
        if code:
            data["code"] = code
        eid, text = cloud_event("PaymentFailed", order["orderId"], data,
                                source="/payment-service")
        if dataschema:
            ev = json.loads(text)
            ev["dataschema"] = dataschema
            text = json.dumps(ev)
        headers = [("content-type", content_type)] if content_type else []
        self.stack.kafka_produce("payment-failed", order["orderId"], text, headers=headers)
        return eid, data

    def status(self, oid):
        return http("GET", self.order.url + "/orders/" + oid)[2].get("status")

    def test_version_1_and_2_flow_and_a_later_version_is_dead_lettered(self):
        schemas = load_schemas()
        v1, v2, v3, other, binary = (self.pending_order() for _ in range(5))
        # Version 1, as written before versions: no dataschema, no code, no
        # content-type header. Its data is what the version-1 schema says.
        _, data = self.payment_failed(v1, content_type=None)
        validate(schemas, URN % ("PaymentFailed", 1), data)
        with self.assertRaises(jsonschema.ValidationError):
            validate(schemas, URN % ("PaymentFailed", 2), data)
        _, data = self.payment_failed(v2, URN % ("PaymentFailed", 2), "AMOUNT_LIMIT")
        validate(schemas, URN % ("PaymentFailed", 2), data)
        bad = {v3["orderId"]: self.payment_failed(v3, URN % ("PaymentFailed", 3), "AMOUNT_LIMIT")[0],
               other["orderId"]: self.payment_failed(other, "https://schemas.example/pf.json")[0],
               binary["orderId"]: self.payment_failed(binary, content_type=b"application/avro")[0]}
        for o in (v1, v2):
            wait_until("%s PAYMENT_FAILED" % o["orderId"],
                       lambda: self.status(o["orderId"]) == "PAYMENT_FAILED", 30, 0.2)
        wait_until("a PAYMENT_FAILED notification for versions 1 and 2", lambda: {
            n["orderId"] for n in read_notifications(self.notify.notify_file)
            if n["type"] == "PAYMENT_FAILED"} >= {v1["orderId"], v2["orderId"]}, 30, 0.2)

        # Each of the others: dead-lettered by both groups with its reason.
        def dead():
            recs = [r for r in self.stack.kafka_records("payment-failed-dlq") if r["key"] in bad]
            return recs if len(recs) == 2 * len(bad) else None
        recs = wait_until("6 dead letters", dead, 30, 0.3)
        reasons = {}
        for r in recs:
            group = r["headers"]["kafka_dlt-original-consumer-group"].decode()
            reasons[(r["key"], group)] = r["headers"]["kafka_dlt-exception-message"].decode()
            self.assertEqual(r["headers"]["kafka_dlt-exception-fqcn"], b"eventbus.PermanentError")
        for group in ("order-service", "notification-service"):
            self.assertRegex(reasons[(v3["orderId"], group)],
                             r"PaymentFailed version 3 .* is newer than this consumer knows")
            self.assertRegex(reasons[(other["orderId"], group)],
                             r"unknown dataschema 'https://schemas.example/pf.json'")
            self.assertRegex(reasons[(binary["orderId"], group)],
                             r"content-type 'application/avro' is not a structured-mode")
        for o in (v3, other, binary):
            self.assertEqual(self.status(o["orderId"]), "PENDING")
        self.assertFalse({n["orderId"] for n in read_notifications(self.notify.notify_file)
                          if n["type"] == "PAYMENT_FAILED"} & set(bad))


if __name__ == "__main__":
    unittest.main()
