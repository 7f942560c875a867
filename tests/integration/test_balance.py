"""Two payment-service instances share the order-created partitions.

Both join consumer group payment-service; the range assignor splits the 6
partitions of each topic the group reads between them (a sticky assignor
balances only the total, and could leave all of order-created on one). Each instance then decides exactly the
orders whose events land on its partitions, and every order is decided once.
"""

import collections
import unittest

from harness import StackTestCase, http, order_body, wait_until

PARTITIONS = 6


def assignment(proc, topic="order-created"):
    """The partitions proc holds now, replayed from its assign/revoke logs."""
    held = set()
    for line in proc.log_lines():
        msg = line.get("msg", "")
        for verb in ("assigned", "revoked"):
            prefix = "partitions %s: " % verb
            if msg.startswith(prefix):
                parts = {int(tp.split("[")[1].rstrip("]")) for tp in msg[len(prefix):].split()
                         if tp.startswith(topic + "[")}
                held = held | parts if verb == "assigned" else held - parts
    return held


class LoadBalancingTest(StackTestCase):

    stack_args = {"partitions": PARTITIONS}

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order()
        cls.pay1 = s.start_payment("payment-1")
        cls.pay2 = s.start_payment("payment-2")
        s.wait_ready(cls.order)

        def split():
            a, b = assignment(cls.pay1), assignment(cls.pay2)
            return a and b and not (a & b) and len(a | b) == PARTITIONS
        # The mock's rebalances wait out the session timeout (6 s) per round.
        wait_until("both instances to hold partitions", split, 60, 0.5)

    def test_partitions_are_split_between_the_instances(self):
        a, b = assignment(self.pay1), assignment(self.pay2)
        self.assertTrue(a and b)
        self.assertEqual(a & b, set())
        self.assertEqual(a | b, set(range(PARTITIONS)))

    def test_every_topic_of_the_group_is_split(self):
        for topic in ("order-created", "order-cancelled", "inventory-insufficient"):
            a, b = assignment(self.pay1, topic), assignment(self.pay2, topic)
            self.assertEqual((len(a), len(b)), (PARTITIONS // 2, PARTITIONS // 2), topic)
            self.assertEqual(a | b, set(range(PARTITIONS)), topic)

    def test_each_order_is_decided_once_by_the_owner_of_its_partition(self):
        ids = set()
        for i in range(40):
            status, _, o = http("POST", self.order.url + "/orders", order_body("u%d" % i, 1, 10))
            self.assertEqual(status, 201)
            ids.add(o["orderId"])

        def all_paid():
            return all(http("GET", self.order.url + "/orders/" + oid)[2]["status"] == "PAID"
                       for oid in ids)
        wait_until("all orders PAID", all_paid, 40, 0.5)

        decided = collections.Counter()
        for proc in (self.pay1, self.pay2):
            held = assignment(proc)
            mine = [l for l in proc.log_lines()
                    if "payment decision" in l.get("msg", "") and l.get("orderId") in ids]
            self.assertTrue(mine, "%s decided nothing" % proc.name)
            for line in mine:
                self.assertIn(line["partition"], held,
                              "%s decided on a partition it does not hold" % proc.name)
                decided[line["orderId"]] += 1
        self.assertEqual(set(decided), ids)
        self.assertEqual(set(decided.values()), {1}, "an order was decided twice")


if __name__ == "__main__":
    unittest.main()
