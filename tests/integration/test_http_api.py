"""The order HTTP API of docs/contract.md section 4, rule by rule.

Every error is JSON {"error":{"code","message"[,"field"]}} with the status the
contract gives. The service runs as its own process against real Redis and
the dev broker.
"""

import http.client as httpclient
import json
import socket
import subprocess
import time
import unittest

from harness import StackTestCase, http, order_body, scaled, wait_until

ITEM = {"productId": "p1", "quantity": 2, "price": 50}


def with_item(**changes):
    item = dict(ITEM)
    for k, v in changes.items():
        if v is None:
            del item[k]
        else:
            item[k] = v
    return {"userId": "u1", "items": [item]}


def nested(levels):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def without(key):
    body = order_body()
    del body[key]
    return body


# (name, body, expected status, expected code, expected field)
BAD_BODIES = [
    ("malformed JSON", b'{"userId": "u1", "items": [', 400, "INVALID_JSON", None),
    ("empty body", b"", 400, "INVALID_JSON", None),
    ("JSON but not an object", b"[1,2]", 400, "INVALID_JSON", None),
    ("trailing data after the object", json.dumps(order_body()).encode() + b" {}", 400,
     "INVALID_JSON", None),
    ("invalid UTF-8", b'{"userId":"\xff\xfe","items":[{"productId":"p1","quantity":1,"price":1}]}',
     400, "INVALID_JSON", None),
    ("nested 33 levels deep", dict(order_body(), x=nested(32)), 400, "INVALID_JSON", None),
    ("userId missing", without("userId"), 400, "MISSING_FIELD", "userId"),
    ("userId not a string", dict(order_body(), userId=42), 400, "INVALID_FIELD", "userId"),
    ("userId empty", dict(order_body(), userId=""), 400, "INVALID_FIELD", "userId"),
    ("userId over 128 bytes", dict(order_body(), userId="u" * 129), 400, "INVALID_FIELD",
     "userId"),
    ("userId of 65 two-byte characters (130 bytes)", dict(order_body(), userId="é" * 65), 400,
     "INVALID_FIELD", "userId"),
    ("items missing", without("items"), 400, "MISSING_FIELD", "items"),
    ("items not an array", dict(order_body(), items={"productId": "p1"}), 400, "INVALID_FIELD",
     "items"),
    ("items empty", dict(order_body(), items=[]), 400, "INVALID_FIELD", "items"),
    ("more than 100 items", dict(order_body(), items=[ITEM] * 101), 400, "INVALID_FIELD",
     "items"),
    ("item not an object", dict(order_body(), items=["p1"]), 400, "INVALID_FIELD", "items[0]"),
    ("productId missing", with_item(productId=None), 400, "MISSING_FIELD",
     "items[0].productId"),
    ("productId not a string", with_item(productId=7), 400, "INVALID_FIELD",
     "items[0].productId"),
    ("quantity missing", with_item(quantity=None), 400, "MISSING_FIELD", "items[0].quantity"),
    ("quantity zero", with_item(quantity=0), 400, "INVALID_FIELD", "items[0].quantity"),
    ("quantity negative", with_item(quantity=-1), 400, "INVALID_FIELD", "items[0].quantity"),
    ("quantity above 10000", with_item(quantity=10001), 400, "INVALID_FIELD",
     "items[0].quantity"),
    ("quantity not an integer", with_item(quantity=1.5), 400, "INVALID_FIELD",
     "items[0].quantity"),
    ("quantity a string", with_item(quantity="2"), 400, "INVALID_FIELD", "items[0].quantity"),
    ("price missing", with_item(price=None), 400, "MISSING_FIELD", "items[0].price"),
    ("price negative", with_item(price=-0.01), 400, "INVALID_FIELD", "items[0].price"),
    ("price with 3 decimals", with_item(price=10.001), 400, "INVALID_FIELD", "items[0].price"),
    ("price a string", with_item(price="50"), 400, "INVALID_FIELD", "items[0].price"),
    ("second item invalid", dict(order_body(), items=[ITEM, dict(ITEM, quantity=0)]), 400,
     "INVALID_FIELD", "items[1].quantity"),
    ("currency not a string", dict(order_body(), currency=840), 400, "INVALID_FIELD",
     "currency"),
    ("currency not ISO 4217", dict(order_body(), currency="usd"), 400, "INVALID_FIELD",
     "currency"),
]

GOOD_BODIES = [
    # The object is level 1, so x's 31 arrays make 32 levels.
    ("nested 32 levels deep (unknown field)", dict(order_body(), x=nested(31)), 100),
    ("quantity 1", with_item(quantity=1), 50),
    ("quantity 10000", with_item(quantity=10000), 500000),
    ("price 0", with_item(price=0), 0),
    ("price with 2 decimals", with_item(price=0.29), 0.58),
    ("100 items", dict(order_body(), items=[ITEM] * 100), 10000),
    ("userId of 128 bytes", dict(order_body(), userId="u" * 128), 100),
    ("unknown fields ignored", dict(order_body(), note="gift"), 100),
]


class HttpApiTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(HTTP_MAX_BODY=8192)
        s.wait_ready(cls.order)

    def url(self, path):
        return self.order.url + path

    def assert_error(self, status, body, want_status, code, field=None):
        self.assertEqual(status, want_status, body)
        self.assertIsInstance(body, dict, body)
        err = body.get("error")
        self.assertIsInstance(err, dict, body)
        self.assertEqual(err.get("code"), code, body)
        self.assertTrue(err.get("message"), body)
        if field is None:
            self.assertNotIn("field", err)
        else:
            self.assertEqual(err.get("field"), field, body)

    def test_every_validation_rule_returns_its_error(self):
        for name, body, status, code, field in BAD_BODIES:
            with self.subTest(name):
                st, hdrs, got = http("POST", self.url("/orders"), body)
                self.assert_error(st, got, status, code, field)
                self.assertTrue(hdrs.get("Content-Type", "").startswith("application/json"))

    def test_valid_edge_cases_are_accepted(self):
        for name, body, total in GOOD_BODIES:
            with self.subTest(name):
                st, _, got = http("POST", self.url("/orders"), body)
                self.assertEqual(st, 201, got)
                self.assertEqual(got["total"], total)

    def test_created_order_is_readable(self):
        st, hdrs, created = http("POST", self.url("/orders"),
                                 order_body("u7", 3, 19.99, currency="EUR"))
        self.assertEqual(st, 201)
        self.assertEqual(set(created), {"orderId", "status", "userId", "items", "total",
                                        "currency", "createdAt"})
        self.assertEqual(created["status"], "PENDING")
        self.assertEqual(created["total"], 59.97)
        self.assertEqual(created["currency"], "EUR")
        self.assertEqual(hdrs["Location"], "/orders/" + created["orderId"])
        st, _, got = http("GET", self.url(hdrs["Location"]))
        self.assertEqual(st, 200)
        self.assertEqual(got, created)

    def test_currency_defaults_to_usd(self):
        st, _, got = http("POST", self.url("/orders"), order_body())
        self.assertEqual((st, got["currency"]), (201, "USD"))

    def test_unknown_order_is_404(self):
        for path in ("/orders/00000000-0000-4000-8000-000000000000", "/orders/not-an-id",
                     "/orders/%2e%2e", "/orders/"):
            with self.subTest(path):
                st, _, got = http("GET", self.url(path))
                self.assert_error(st, got, 404, "NOT_FOUND")

    def test_unknown_route_is_404(self):
        st, _, got = http("GET", self.url("/nope"))
        self.assert_error(st, got, 404, "NOT_FOUND")

    def test_wrong_method_is_405_with_allow(self):
        for method, path, allow in (("GET", "/orders", "POST"), ("DELETE", "/orders", "POST"),
                                    ("PUT", "/orders/x", "GET"), ("POST", "/orders/x", "GET")):
            with self.subTest(method=method, path=path):
                st, hdrs, got = http(method, self.url(path), b"{}" if method != "GET" else None)
                self.assert_error(st, got, 405, "METHOD_NOT_ALLOWED")
                self.assertIn(allow, hdrs.get("Allow", ""))

    def test_wrong_content_type_is_415(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonp"):
            with self.subTest(ctype):
                st, _, got = http("POST", self.url("/orders"), json.dumps(order_body()).encode(),
                                  {"Content-Type": ctype})
                self.assert_error(st, got, 415, "UNSUPPORTED_MEDIA_TYPE")
        st, _, got = http("POST", self.url("/orders"), b'{"userId":"u1"}',
                          {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(st, 400, "charset parameter must be accepted")

    def test_body_over_the_limit_is_413(self):
        big = json.dumps(dict(order_body(), pad="x" * 9000)).encode()
        st, _, got = http("POST", self.url("/orders"), big)
        self.assert_error(st, got, 413, "PAYLOAD_TOO_LARGE")

    def test_chunked_body_over_the_limit_is_413(self):
        conn = httpclient.HTTPConnection("127.0.0.1", self.order.port, timeout=10)
        chunks = [b'{"userId":"u1","pad":"'] + [b"x" * 1000] * 10 + [b'"}']
        conn.request("POST", "/orders", body=iter(chunks),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assert_error(resp.status, body, 413, "PAYLOAD_TOO_LARGE")

    def count_orders(self):
        out = subprocess.run(["redis-cli", "-p", str(self.stack.redis_port), "--scan",
                              "--pattern", "order:*"], capture_output=True, text=True, timeout=10)
        return len(out.stdout.split())

    def test_idempotency_key_returns_the_first_order(self):
        key = {"Idempotency-Key": "key-%f" % time.time()}
        orders_before = self.count_orders()
        st1, _, first = http("POST", self.url("/orders"), order_body("idem"), key)
        self.assertEqual(st1, 201)
        # Same request, different formatting and key order: the same request.
        same = b'{ "items": [ {"price": 50, "quantity": 2, "productId": "p1"} ], "userId": "idem" }'
        st2, _, again = http("POST", self.url("/orders"), same, key)
        self.assertEqual(st2, 200)
        self.assertEqual(again["orderId"], first["orderId"])
        st3, _, other = http("POST", self.url("/orders"), order_body("idem", qty=3), key)
        self.assert_error(st3, other, 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key")
        # Only the first request stored an order.
        self.assertEqual(self.count_orders(), orders_before + 1)

    def test_bad_idempotency_key_is_400(self):
        st, _, got = http("POST", self.url("/orders"), order_body(),
                          {"Idempotency-Key": "k" * 256})
        self.assert_error(st, got, 400, "INVALID_FIELD", "Idempotency-Key")

    def test_order_and_outbox_entry_are_stored_together(self):
        before = int(self.stack.redis_cli("XLEN", "orders:outbox") or 0)
        st, _, o = http("POST", self.url("/orders"), order_body("atomic"))
        self.assertEqual(st, 201)
        self.assertEqual(self.stack.redis_cli("HGET", "order:" + o["orderId"], "status"),
                         "PENDING")
        # The relay may already have published and deleted the entry; the
        # event must then be on the broker.
        def published():
            recs = [r for r in self.stack.kafka_records("order-created")
                    if r["key"] == o["orderId"]]
            return len(recs) == 1
        wait_until("OrderCreated published", published, 20, 0.3)
        wait_until("outbox drained", lambda: int(self.stack.redis_cli("XLEN", "orders:outbox"))
                   <= before, 20, 0.2)

    def test_health_and_ready(self):
        st, _, got = http("GET", self.url("/health"))
        self.assertEqual((st, got["status"]), (200, "ok"))
        st, _, got = http("GET", self.url("/ready"))
        self.assertEqual((st, got["status"]), (200, "ready"))


class RedisDownTest(StackTestCase):
    """Redis unreachable: intake answers 503 fast, and /ready says why."""

    @classmethod
    def start(cls, s):
        s.start_broker()
        # A port bound but not listening: connections are refused, and no
        # other test's server can take it while this class runs.
        cls.no_redis = socket.socket()
        cls.no_redis.bind(("127.0.0.1", 0))
        s.redis_port = cls.no_redis.getsockname()[1]
        cls.order = s.start_order()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.no_redis.close()

    def test_post_is_503_within_2s(self):
        start = time.monotonic()
        st, _, got = http("POST", self.order.url + "/orders", order_body())
        self.assertLess(time.monotonic() - start, scaled(2.0))
        self.assertEqual(st, 503, got)
        self.assertEqual(got["error"]["code"], "SERVICE_UNAVAILABLE")

    def test_get_is_503(self):
        st, _, got = http("GET", self.order.url + "/orders/00000000-0000-4000-8000-000000000000")
        self.assertEqual(st, 503, got)

    def test_ready_is_503_naming_redis(self):
        st, _, got = http("GET", self.order.url + "/ready")
        self.assertEqual(st, 503)
        self.assertEqual(got["status"], "not ready")
        self.assertIn("redis", got["reason"])
        st, _, got = http("GET", self.order.url + "/health")
        self.assertEqual(st, 200)


class HardeningTest(StackTestCase):
    """Hostile clients: slow ones must not starve the others, connections are
    limited and idle ones time out."""

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(HTTP_MAX_CONNECTIONS=300, HTTP_HEADER_TIMEOUT_S=3,
                                  HTTP_THREADS=4)
        s.wait_ready(cls.order)

    def open_slow(self, n):
        """n connections that send half a request header and then stall."""
        socks = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", self.order.port), timeout=5)
            c.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
            socks.append(c)
        return socks

    def test_slow_clients_do_not_starve_the_others(self):
        slow = self.open_slow(150)
        try:
            took = []
            for i in range(30):
                start = time.monotonic()
                st, _, _ = http("POST", self.order.url + "/orders", order_body("fast%d" % i),
                                timeout=5)
                took.append(time.monotonic() - start)
                self.assertEqual(st, 201)
            self.assertLess(max(took), scaled(1.0), "a request waited behind slow clients")
        finally:
            for c in slow:
                c.close()

    def test_connection_limit_and_header_deadline(self):
        held = self.open_slow(330)  # more than the server holds (300)
        try:
            # Past the limit the oldest stalled connections make room: a new
            # client is served at once rather than waiting behind them.
            self.assertEqual(http("GET", self.order.url + "/health", timeout=scaled(1.5))[0], 200)

            # HTTP_HEADER_TIMEOUT_S after they opened, the stalled connections
            # are closed by the server (test_slow_clients checks their 408)...
            def closed(c):  # read what the server sent (its 408) up to the end
                c.settimeout(0.01)
                try:
                    while c.recv(4096):
                        pass
                    return True
                except socket.timeout:
                    return False
                except OSError:
                    return True

            def all_closed():
                return sum(closed(c) for c in held) == len(held)
            wait_until("stalled connections to be closed", all_closed, 20, 0.5)
            # ...and everyone else is served again.
            self.assertEqual(http("GET", self.order.url + "/health")[0], 200)
        finally:
            for c in held:
                c.close()

if __name__ == "__main__":
    unittest.main()
