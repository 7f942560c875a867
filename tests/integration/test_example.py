"""The example service (examples/shipping-notifier) on a real broker and Redis.

The example is built from the tree into build/bin by the main build (and
against an install prefix by tests/install/check.sh, which only runs its
--help): this test runs the build/bin one, so it runs under ASan and
valgrind too. Its input is produced by an independent client (kafka-python)
playing inventory-service; its output is checked against the example's own
JSON Schema with an independent validator (jsonschema).
"""

import json
import os
import signal
import unittest

import jsonschema

from harness import StackTestCase, bin_argv, cloud_event, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "examples", "shipping-notifier",
                      "ShipmentRequested.v1.json")
GROUP = "shipping-notifier"
CE = "application/cloudevents+json; charset=UTF-8"
V1 = "urn:eventbus:schema:InventoryReserved:1"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def reserved(order, dataschema=V1, data=None):
    """An InventoryReserved as inventory-service writes it: (id, JSON text)."""
    eid, text = cloud_event("InventoryReserved", order, data or {
        "orderId": order, "items": [{"productId": "p1", "quantity": 2}]},
        source="/inventory-service")
    if dataschema:
        ev = json.loads(text)
        ev["dataschema"] = dataschema
        text = json.dumps(ev)
    return eid, text


class ShippingNotifierTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.proc = s._spawn(GROUP, bin_argv("shipping-notifier"),
                            env=s.env(INSTANCE_ID="shipping-1", SHIPPING_WAREHOUSE="east"))
        s.wait_assigned(cls.proc)

    def produce(self, key, value, partition=0):
        return self.stack.kafka_produce("inventory-reserved", key, value, partition=partition,
                                        headers=[("content-type", CE),
                                                 ("traceparent", TRACEPARENT)])

    def shipments(self, key):
        return [r for r in self.stack.kafka_records("shipment-requested") if r["key"] == key]

    def caught_up(self):
        wait_until("the group to commit every input",
                   lambda: self.stack.groups_caught_up({GROUP: ["inventory-reserved"]}), 30, 0.3)

    def test_1_one_shipment_per_reservation_derived_and_versioned(self):
        eid, value = reserved("o-ship-1")
        self.produce("o-ship-1", value)
        self.produce("o-ship-1", value)  # redelivered: same event id, no second shipment
        unversioned_id, unversioned = reserved("o-ship-old", dataschema=None)  # before versions
        self.produce("o-ship-old", unversioned, partition=1)
        wait_until("a ShipmentRequested for each order",
                   lambda: self.shipments("o-ship-1") and self.shipments("o-ship-old"), 30, 0.3)
        self.caught_up()
        recs = self.shipments("o-ship-1")
        self.assertEqual(len(recs), 1, recs)
        r = recs[0]
        ev = json.loads(r["value"])
        self.assertEqual(r["headers"]["content-type"].decode(), CE)
        # The trace goes on (the same trace id; the span may be a new one).
        self.assertEqual(r["headers"]["traceparent"].decode()[:35], TRACEPARENT[:35])
        self.assertEqual((ev["type"], ev["source"], ev["subject"]),
                         ("ShipmentRequested", "/shipping-notifier", "o-ship-1"))
        self.assertEqual((ev["causationid"], ev["correlationid"]), (eid, eid))
        self.assertEqual(ev["dataschema"], "urn:example:schema:ShipmentRequested:1")
        with open(SCHEMA) as f:
            schema = json.load(f)
        self.assertEqual(schema["$id"], ev["dataschema"])
        for rec in recs + self.shipments("o-ship-old"):
            jsonschema.Draft202012Validator(schema).validate(json.loads(rec["value"])["data"])
        self.assertEqual(ev["data"], {"orderId": "o-ship-1", "warehouse": "east",
                                      "items": [{"productId": "p1", "quantity": 2}]})
        self.assertEqual(json.loads(self.shipments("o-ship-old")[0]["value"])["causationid"],
                         unversioned_id)

    def test_2_poison_and_unknown_versions_go_to_the_dlq_and_the_rest_flows(self):
        poison = {
            # key: (value, words of kafka_dlt-exception-message)
            "o-poison": ("this is not json {", "not JSON"),
            "o-v2": (reserved("o-v2", V1[:-1] + "2")[1], "version 2"),
            "o-bad": (reserved("o-bad", data={"orderId": "o-bad"})[1], "without orderId or items"),
        }
        for key, (value, _) in poison.items():
            self.produce(key, value)
        self.produce("o-after", reserved("o-after")[1])  # behind the poison, same partition

        def dead_letters():
            recs = [r for r in self.stack.kafka_records("inventory-reserved-dlq")
                    if r["key"] in poison]
            return recs if len(recs) >= len(poison) else None
        recs = wait_until("a dead letter per poison message", dead_letters, 30, 0.3)
        self.assertEqual(sorted(r["key"] for r in recs), sorted(poison))
        for r in recs:
            value, words = poison[r["key"]]
            h = r["headers"]
            self.assertEqual(r["raw"], value.encode())  # byte for byte
            self.assertEqual(h["kafka_dlt-original-consumer-group"].decode(), GROUP)
            self.assertEqual(h["kafka_dlt-exception-fqcn"].decode(), "eventbus.PermanentError")
            self.assertIn(words, h["kafka_dlt-exception-message"].decode())
        wait_until("the event behind the poison to ship",
                   lambda: self.shipments("o-after"), 30, 0.3)
        self.caught_up()
        for key in poison:
            self.assertEqual(self.shipments(key), [], key)

    def test_3_sigterm_leaves_the_group_and_exits_0(self):
        self.proc.signal(signal.SIGTERM)
        rc, _ = self.proc.stop(timeout=20)
        self.assertEqual(rc, 0, self.proc.log_text()[-3000:])
        self.assertTrue(any(l.get("msg") == "shipping-notifier stopped"
                            for l in self.proc.log_lines()))


if __name__ == "__main__":
    unittest.main()
