"""Redis up but refusing writes (OOM at maxmemory, a READONLY replica) is
told apart from Redis unreachable.

POST /orders answers 503 naming the refusal and stores nothing; /ready is
503 with that reason while it lasts (order-service and a consumer daemon);
redis_writable is 0 while redis_up stays 1; reads still work; the outbox
relay keeps draining what was accepted before (XACK and XDEL are allowed at
maxmemory). When the operator fixes Redis, everything is back without a
restart.
"""

import re
import unittest

from harness import StackTestCase, free_port, http, order_body, wait_until


def metric(url, name):
    text = http("GET", url + "/metrics")[2]
    m = re.search(r"^%s (\S+)$" % name, text, re.M)
    return float(m.group(1)) if m else None


class RedisRefusalTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker(control=True)
        cls.order = s.start_order()
        cls.payment = s.start_payment()
        s.wait_assigned(cls.payment)
        s.wait_ready(cls.order)
        s.wait_ready(cls.payment)

    def post(self):
        return http("POST", self.order.url + "/orders", order_body())

    def orders_stored(self):
        return len([k for k in self.stack.redis_cli("--scan", "--pattern", "order:*").split()])

    def check_refused(self, word):
        """POST is refused with word in the message and stores nothing;
        /ready names it on both daemons; the gauges say up, not writable."""
        before = (self.orders_stored(), self.stack.redis_cli("XLEN", "orders:outbox"))
        status, _, body = self.post()
        self.assertEqual(status, 503, body)
        self.assertEqual(body["error"]["code"], "SERVICE_UNAVAILABLE")
        self.assertIn("refuses writes", body["error"]["message"])
        self.assertIn(word, body["error"]["message"])
        self.assertNotIn("unreachable", body["error"]["message"])
        self.assertEqual((self.orders_stored(), self.stack.redis_cli("XLEN", "orders:outbox")),
                         before, "a refused order left something behind")
        for proc in (self.order, self.payment):
            status, _, body = http("GET", proc.url + "/ready")
            self.assertEqual(status, 503, (proc.name, body))
            self.assertIn("redis refuses writes: " + word, body["reason"], proc.name)
        self.assertEqual(metric(self.order.url, "redis_writable"), 0)
        self.assertEqual(metric(self.order.url, "redis_up"), 1)

    def check_recovered(self):
        wait_until("order-service ready again",
                   lambda: http("GET", self.order.url + "/ready")[0] == 200, 30, 0.2)
        wait_until("payment-service ready again",
                   lambda: http("GET", self.payment.url + "/ready")[0] == 200, 30, 0.2)
        status, _, body = self.post()
        self.assertEqual(status, 201, body)
        self.assertEqual(metric(self.order.url, "redis_writable"), 1)
        return body["orderId"]

    def test_maxmemory_refuses_writes_and_the_relay_still_drains(self):
        s = self.stack
        # Orders accepted while Kafka is down wait in the outbox.
        self.assertEqual(s.broker_command("down all"), "ok")
        waiting = [self.post()[2]["orderId"] for _ in range(3)]
        self.assertEqual(s.redis_cli("XLEN", "orders:outbox"), "3")
        # Redis at maxmemory with noeviction: every write that needs memory fails.
        s.redis_cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        s.redis_cli("CONFIG", "SET", "maxmemory", "1")
        try:
            self.check_refused("OOM")
            # Reads still work.
            status, _, body = http("GET", self.order.url + "/orders/" + waiting[0])
            self.assertEqual((status, body["status"]), (200, "PENDING"))
            # Kafka back: the relay publishes and acknowledges what was
            # accepted, though Redis takes no new data.
            self.assertEqual(s.broker_command("up all"), "ok")
            wait_until("the outbox to drain at maxmemory",
                       lambda: s.redis_cli("XLEN", "orders:outbox") == "0" or None, 60, 0.3)
            published = {r["key"] for r in s.kafka_records("order-created")}
            self.assertLessEqual(set(waiting), published)
            self.check_refused("OOM")
        finally:
            s.redis_cli("CONFIG", "SET", "maxmemory", "0")
            s.broker_command("up all")
        self.check_recovered()

    def test_readonly_replica_refuses_writes(self):
        s = self.stack
        # A replica of a master that is not there: it keeps its data and
        # refuses every write.
        s.redis_cli("REPLICAOF", "127.0.0.1", free_port())
        try:
            wait_until("Redis to be a replica",
                       lambda: "role:slave" in s.redis_cli("INFO", "replication") or None, 10)
            self.check_refused("READONLY")
        finally:
            s.redis_cli("REPLICAOF", "NO", "ONE")
        self.check_recovered()


if __name__ == "__main__":
    unittest.main(verbosity=2)
