"""Group commit of POST /orders (services/order/api.c): the orders of every
HTTP worker are written to Redis together, the requests suspended until
their batch's replies are read.

Each request still gets its own order; Idempotency-Key behaves as before
(same key and body: the same order; another body: 422); when Redis goes
away with a batch in flight, every order of it (and of the batch gathering
behind it) is answered 503; a stop drains the batches: every 201 was
stored, and order-service exits 0.
"""

import os
import signal
import threading
import unittest

from harness import StackTestCase, http, order_body, wait_until

N = 24  # concurrent requests: more than the HTTP workers, so batches form


def concurrently(calls):
    """Runs every call at once (a barrier), returns their results in order."""
    barrier = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except OSError as e:  # a connection closed by a stop
            out[i] = e

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def committer_blocked(stack):
    """A Redis client inside MULTI blocked by CLIENT PAUSE: the batch is in flight."""
    return any("flags=xb" in line for line in stack.redis_cli("CLIENT", "LIST").splitlines())


class GroupCommitTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker()
        cls.order = s.start_order()
        s.wait_ready(cls.order)

    def post(self, body, key=None):
        return http("POST", self.order.url + "/orders", body,
                    {"Idempotency-Key": key} if key else None)

    def test_concurrent_posts_each_get_their_own_order(self):
        # Even i: no key (group commit); odd i: a key of its own (stored by its worker).
        bodies = [order_body("gc-%d" % i, qty=i + 1) for i in range(N)]
        keys = [None if i % 2 == 0 else "gc-key-%d" % i for i in range(N)]
        got = concurrently([lambda i=i: self.post(bodies[i], keys[i]) for i in range(N)])
        for i, (st, hdrs, o) in enumerate(got):
            self.assertEqual(st, 201, o)
            self.assertEqual(hdrs["Location"], "/orders/" + o["orderId"])
            self.assertEqual((o["userId"], o["items"][0]["quantity"]), ("gc-%d" % i, i + 1))
        ids = [o["orderId"] for _, _, o in got]
        self.assertEqual(len(set(ids)), N, "two requests answered with one order")
        for i, oid in enumerate(ids):  # stored, with its own content
            st, _, o = http("GET", self.order.url + "/orders/" + oid)
            self.assertEqual((st, o["userId"], o["status"]), (200, "gc-%d" % i, "PENDING"))

        # Replays, at once: same key and body -> the same order (200),
        # another body -> 422; without a key, a new order each time.
        keyed = [i for i in range(N) if keys[i]]
        calls = [lambda i=i: self.post(bodies[i], keys[i]) for i in keyed]
        calls += [lambda i=i: self.post(order_body("other"), keys[i]) for i in keyed]
        calls += [lambda i=i: self.post(bodies[i]) for i in range(0, N, 2)]
        again = concurrently(calls)
        k = len(keyed)
        for i, (st, _, o) in zip(keyed, again[:k]):
            self.assertEqual((st, o["orderId"]), (200, ids[i]))
        for st, _, o in again[k:2 * k]:
            self.assertEqual((st, o["error"]["code"]), (422, "IDEMPOTENCY_KEY_REUSED"))
        fresh = [o["orderId"] for st, _, o in again[2 * k:] if st == 201]
        self.assertEqual(len(fresh), N // 2)
        self.assertFalse(set(fresh) & set(ids))

        # Every new order reached the broker once.
        want = set(ids) | set(fresh)

        def published():
            keys_seen = [r["key"] for r in self.stack.kafka_records("order-created")]
            return want <= set(keys_seen) and all(keys_seen.count(x) == 1 for x in want)
        wait_until("every order published once", published, 30, 0.3)

    def test_redis_lost_mid_batch_is_503_for_every_order(self):
        s = self.stack
        # Hold the batch in Redis (CLIENT PAUSE WRITE blocks its EXEC), then kill Redis.
        s.redis_cli("CLIENT", "PAUSE", "5000", "WRITE")
        results = []
        poster = threading.Thread(target=lambda: results.extend(concurrently(
            [lambda i=i: self.post(order_body("lost-%d" % i)) for i in range(N)])))
        poster.start()
        try:
            wait_until("a batch in flight", lambda: committer_blocked(s), 5, 0.02)
        finally:
            port = s.redis_port
            s.redis.kill()
            poster.join(30)
        self.assertEqual(len(results), N)
        for st, _, body in results:
            self.assertEqual(st, 503, body)
            self.assertEqual(body["error"]["code"], "SERVICE_UNAVAILABLE")
            self.assertIn("unreachable", body["error"]["message"])
        # Back on the same port: the committer reconnects.
        s.start_redis(port)
        wait_until("POST /orders accepted again",
                   lambda: self.post(order_body("back"))[0] == 201, 20, 0.2)


class GroupCommitPollTest(GroupCommitTest):
    """The same with HTTP_EVENT_LOOP=poll: suspend and resume under poll(2)."""

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker()
        cls.order = s.start_order(HTTP_EVENT_LOOP="poll", HTTP_THREADS=2)
        s.wait_ready(cls.order)

    def test_no_epoll_instance(self):
        # Under epoll libmicrohttpd holds one per worker; nothing else in order-service does.
        fd_dir = "/proc/%d/fd" % self.order.popen.pid
        links = []
        for fd in os.listdir(fd_dir):
            try:
                links.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:  # closed meanwhile
                pass
        self.assertNotIn("anon_inode:[eventpoll]", links)


class GroupCommitStopTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_redis()
        s.start_broker()
        cls.order = s.start_order()
        s.wait_ready(cls.order)

    def test_stop_drains_the_batches(self):
        s = self.stack
        s.redis_cli("CLIENT", "PAUSE", "700", "WRITE")
        results = []
        poster = threading.Thread(target=lambda: results.extend(concurrently(
            [lambda i=i: http("POST", self.order.url + "/orders", order_body("stop-%d" % i))
             for i in range(N)])))
        poster.start()
        wait_until("a batch in flight", lambda: committer_blocked(s), 5, 0.02)
        self.order.signal(signal.SIGTERM)
        poster.join(30)
        rc = self.order.popen.wait(30)
        self.assertEqual(rc, 0, self.order.log_text()[-2000:])
        created = [r[2]["orderId"] for r in results if isinstance(r, tuple) and r[0] == 201]
        self.assertGreater(len(created), 0, results)
        for oid in created:  # every 201 was stored, with its outbox entry or already published
            self.assertEqual(s.redis_cli("HGET", "order:" + oid, "status"), "PENDING")
        for r in results:  # the others: refused or cut by the stop, never a lost 201
            self.assertTrue(isinstance(r, OSError) or r[0] in (201, 503), r)


if __name__ == "__main__":
    unittest.main()
