"""No single client can take intake down with slow connections.

The attack of issue 14, with the default settings: one client opens more
connections than HTTP_MAX_CONNECTIONS, sends a partial request on each and
then one more header line every few seconds, never finishing. Meanwhile
another client opens a new connection and POSTs an order every 200 ms: each
gets its 201 within a second (the table makes room by closing the oldest
unfinished requests), every attack connection gets 408 REQUEST_TIMEOUT as
JSON and is closed (HTTP_HEADER_TIMEOUT_S counts total time, not idle
time), and the metrics count why. Then, on a server with short limits:
the header deadline, the body deadline, the keep-alive idle close and the
per-address limit, each on its own connection.
"""

import json
import re
import resource
import selectors
import socket
import threading
import time
import unittest

from harness import (TIME_SCALE, StackTestCase, http, order_body, scaled, wait_until)

# Under valgrind and the sanitizers the daemon is several times slower:
# a smaller table and a smaller attack keep the test's shape and its time.
SLOW = TIME_SCALE > 1
MAX_CONNECTIONS = 200 if SLOW else 1024  # 1024: the default
ATTACKERS = MAX_CONNECTIONS + (60 if SLOW else 76)
PARTIAL = (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\n")


def metric(url, name, label):
    text = http("GET", url + "/metrics")[2]
    m = re.search(r'^%s\{reason="%s"\} (\S+)$' % (name, label), text, re.M)
    return float(m.group(1)) if m else 0.0


def parse_reply(data):
    """(status, JSON body) of one whole HTTP response in data, or None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if not m or not length or len(body) < int(length.group(1)):
        return None
    return int(m.group(1)), json.loads(body[:int(length.group(1))])


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_reply(test, sock):
    """One whole response from sock; fails if the server closes first."""
    data = b""
    while parse_reply(data) is None:
        chunk = sock.recv(4096)
        test.assertTrue(chunk, "closed mid-reply: %r" % data)
        data += chunk
    return parse_reply(data)


def read_until_closed(sock, deadline):
    """Every byte the server sends until it closes (or resets) the
    connection; raises when it stays open past deadline."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("the server kept the connection open; got %r" % data)
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        except socket.timeout:
            continue
        if not chunk:
            return data
        data += chunk


class Prober(threading.Thread):
    """A legitimate client: a new connection and a POST /orders every 200 ms."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.results = []  # (seconds, status, orderId)
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            start = time.monotonic()
            try:
                status, _, body = http("POST", self.url + "/orders", order_body("probe", 1, 10),
                                       timeout=10)
            except OSError as e:
                status, body = "error: %s" % e, None
            took = time.monotonic() - start
            oid = body.get("orderId") if isinstance(body, dict) else None
            self.results.append((took, status, oid))
            self.stopped.wait(max(0, 0.2 - took))


class SlowlorisTest(StackTestCase):
    """The attack against the default settings (a smaller table under a
    test wrapper)."""

    @classmethod
    def start(cls, s):
        # The attack needs a descriptor per connection here too.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < ATTACKERS + 256:
            if hard != resource.RLIM_INFINITY and hard < ATTACKERS + 256:
                raise unittest.SkipTest("open files limited to %d" % hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (ATTACKERS + 256, hard))
        s.start_redis()
        s.start_broker()
        env = {"HTTP_MAX_CONNECTIONS": MAX_CONNECTIONS} if SLOW else {}
        cls.order = s.start_order(**env)
        s.wait_ready(cls.order)

    def test_slow_connections_do_not_starve_a_legitimate_client(self):
        header_timeout = 10  # HTTP_HEADER_TIMEOUT_S's default
        sel = selectors.DefaultSelector()
        socks = {}
        started = time.monotonic()
        for _ in range(ATTACKERS):
            sk = connect(self.order.port)
            sk.sendall(PARTIAL)
            sk.setblocking(False)
            socks[sk] = b""
            sel.register(sk, selectors.EVENT_READ)
        prober = Prober(self.order.url)
        prober.start()
        closed = {}  # socket -> seconds from the attack's start to its close
        next_drip = time.monotonic() + 5
        deadline = started + scaled(header_timeout + 5)
        try:
            while len(closed) < len(socks) and time.monotonic() < deadline:
                if time.monotonic() >= next_drip:  # one more header line every 5 s
                    for sk in socks:
                        if sk not in closed:
                            try:
                                sk.send(b"X-Slow: 1\r\n")
                            except OSError:
                                pass
                    next_drip += 5
                for key, _ in sel.select(timeout=0.1):
                    sk = key.fileobj
                    try:
                        chunk = sk.recv(4096)
                    except (ConnectionResetError, BlockingIOError):
                        chunk = b""
                    if chunk:
                        socks[sk] += chunk
                        continue
                    closed[sk] = time.monotonic() - started
                    sel.unregister(sk)
            # The prober goes on for a moment after the attack is over.
            wait_until("two more probes", lambda: len(prober.results) >= 2 and
                       prober.results[-1][0] < scaled(1), 10)
        finally:
            prober.stopped.set()
            prober.join(15)
            for sk in socks:
                sk.close()

        self.assertEqual(len(closed), len(socks), "attack connections still open after %s s"
                         % scaled(header_timeout + 5))
        replies = [parse_reply(data) for data in socks.values()]
        timeouts = [r for r in replies if r and r[0] == 408]
        for status, body in timeouts:
            self.assertEqual(body["error"]["code"], "REQUEST_TIMEOUT")
        # A reset can overtake a reply when the client writes as it closes;
        # nearly every attack connection must have read its 408.
        self.assertGreaterEqual(len(timeouts), 0.95 * len(socks),
                                "408s: %d of %d" % (len(timeouts), len(socks)))
        self.assertTrue(all(r is None or r[0] == 408 for r in replies),
                        [r for r in replies if r and r[0] != 408][:3])
        # Before the header deadline, only connections that made room closed:
        # the attack's surplus and one per probe.
        early = [t for t in closed.values() if t < header_timeout - 0.5]
        self.assertLessEqual(len(early), ATTACKERS - MAX_CONNECTIONS + len(prober.results))

        print("attack: %d connections, %d read a 408, the last closed at %.1f s; probes: %d, "
              "slowest %.3f s" % (len(socks), len(timeouts), max(closed.values()),
                                  len(prober.results), max(r[0] for r in prober.results)))
        self.assertGreater(len(prober.results), 10)
        bad = [r for r in prober.results if r[1] != 201 or r[0] > scaled(1)]
        self.assertEqual(bad, [], "probes slower than 1 s or failed, of %d" % len(prober.results))
        self.assertGreaterEqual(metric(self.order.url, "http_connections_closed_total",
                                       "header_timeout"), MAX_CONNECTIONS - len(prober.results))
        self.assertGreaterEqual(metric(self.order.url, "http_connections_closed_total",
                                       "evicted"), ATTACKERS - MAX_CONNECTIONS)
        # Every order the prober was told about is published.
        ids = {oid for _, _, oid in prober.results}

        def published():
            keys = {r["key"] for r in self.stack.kafka_records("order-created")}
            return ids <= keys
        wait_until("every probe's order on the orders topic", published, 30, 0.5)


class DeadlinesTest(StackTestCase):
    """Each limit on its own, with short settings."""

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker()
        # The idle timeout stretches under a test wrapper: the per-address
        # test holds idle connections while it opens one more.
        cls.idle_s = max(1, int(scaled(1)))
        cls.order = s.start_order(HTTP_HEADER_TIMEOUT_S=1, HTTP_REQUEST_TIMEOUT_S=2,
                                  HTTP_TIMEOUT_S=cls.idle_s, HTTP_MAX_CONNECTIONS_PER_IP=3)
        s.wait_ready(cls.order)

    def dribble(self, sock, chunks, interval, stop):
        for c in chunks:
            if stop.wait(interval):
                return
            try:
                sock.send(c)
            except OSError:
                return

    def timed_out(self, first, chunks, least, most):
        """Sends first, then one of chunks every 0.3 s; the server must
        answer 408 no sooner than least seconds and close by most."""
        sk = connect(self.order.port)
        stop = threading.Event()
        try:
            start = time.monotonic()
            sk.sendall(first)
            t = threading.Thread(target=self.dribble, args=(sk, chunks, 0.3, stop), daemon=True)
            t.start()
            data = read_until_closed(sk, start + scaled(most) + 2)
            took = time.monotonic() - start
        finally:
            stop.set()
            sk.close()
        reply = parse_reply(data)
        self.assertIsNotNone(reply, data)
        self.assertEqual(reply[0], 408, data)
        self.assertEqual(reply[1]["error"]["code"], "REQUEST_TIMEOUT")
        self.assertGreaterEqual(took, least - 0.05)
        self.assertLess(took, scaled(most))
        return reply[1]["error"]["message"]

    def test_headers_dribbled_byte_by_byte_get_408_at_the_header_deadline(self):
        before = metric(self.order.url, "http_connections_closed_total", "header_timeout")
        message = self.timed_out(b"POST /orders HTTP/1.1\r\n",
                                 [b"X-%d: y\r\n" % i for i in range(40)], 1, 2)
        self.assertIn("HTTP_HEADER_TIMEOUT_S", message)
        wait_until("the header timeout counted", lambda: metric(
            self.order.url, "http_connections_closed_total", "header_timeout") >= before + 1, 5)
        self.assertEqual(metric(self.order.url, "http_connections_closed_total",
                                "header_timeout"), before + 1)

    def test_a_partial_request_line_is_bounded_too(self):
        self.timed_out(b"PO", [b"S"] * 40, 1, 2)

    def test_a_dribbled_body_gets_408_at_the_request_deadline(self):
        head = (b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 200\r\n\r\n{")
        message = self.timed_out(head, [b" "] * 40, 2, 3)
        self.assertIn("HTTP_REQUEST_TIMEOUT_S", message)

    def test_a_kept_alive_connection_closes_when_idle(self):
        before = metric(self.order.url, "http_connections_closed_total", "idle_timeout")
        sk = connect(self.order.port)
        try:
            sk.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_reply(self, sk)[0], 200)
            start = time.monotonic()
            rest = read_until_closed(sk, start + self.idle_s + scaled(2))
            self.assertEqual(rest, b"", "an idle close sends nothing")
            self.assertGreaterEqual(time.monotonic() - start, self.idle_s - 0.05)
        finally:
            sk.close()
        # closed by the guard, not by libmicrohttpd's backstop
        wait_until("the idle close counted", lambda: metric(
            self.order.url, "http_connections_closed_total", "idle_timeout") == before + 1, 5)
        self.assertEqual(metric(self.order.url, "http_connections_closed_total", "idle_timeout"),
                         before + 1)

    def test_a_fast_request_on_a_kept_alive_connection_is_answered(self):
        """The deadlines run per request: a connection that served one
        request and idles less than HTTP_TIMEOUT_S serves the next."""
        sk = connect(self.order.port)
        try:
            for _ in range(3):
                body = json.dumps(order_body("keepalive", 1, 10)).encode()
                sk.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                           b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                reply = read_reply(self, sk)
                self.assertEqual(reply[0], 201, reply)
                time.sleep(0.5)  # idle, within HTTP_TIMEOUT_S, between requests
        finally:
            sk.close()

    def test_one_address_past_its_share_gets_429(self):
        held = [connect(self.order.port) for _ in range(3)]
        try:
            for sk in held:  # the server has admitted them: each is answered
                sk.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                read_reply(self, sk)
            extra = connect(self.order.port)
            try:  # a client sends its request at once; it must still read the 429
                extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                data = read_until_closed(extra, time.monotonic() + scaled(3))
            finally:
                extra.close()
            reply = parse_reply(data)
            self.assertIsNotNone(reply, data)
            self.assertEqual(reply[0], 429)
            self.assertEqual(reply[1]["error"]["code"], "TOO_MANY_REQUESTS")
            self.assertIn("HTTP_MAX_CONNECTIONS_PER_IP", reply[1]["error"]["message"])
        finally:
            for sk in held:
                sk.close()


if __name__ == "__main__":
    unittest.main()
