"""Chaos: a steady stream of orders while daemons are killed (-9) and
restarted and Redis is paused, at random moments, for CHAOS_SECONDS (60 by
default). Then the invariants: every accepted order decided once, every
event notified once, no dead letter for a valid order.

The random seed is printed; CHAOS_SEED replays a run.
"""

import os
import random
import signal
import time
import unittest

from harness import Invariants, StackTestCase, Stream, wait_until

FAST = {"IDEMPOTENCY_LEASE_MS": 3000, "OUTBOX_CLAIM_IDLE_MS": 3000}


class ChaosTest(StackTestCase, Invariants):

    @classmethod
    def start(cls, s):
        s.start_infra()
        cls.order = s.start_order(INSTANCE_ID="order-1", **FAST)
        cls.order_port = cls.order.port
        cls.pay = {"payment-1": s.start_payment("payment-1", **FAST),
                   "payment-2": s.start_payment("payment-2", **FAST)}
        cls.notify = s.start_notification("notify", **FAST)
        cls.notify_file = cls.notify.notify_file
        for p in [cls.order, cls.notify] + list(cls.pay.values()):
            s.wait_assigned(p)
        s.wait_ready(cls.order)

    def restart(self, name):
        """kill -9 one daemon and start it again, as a supervisor would."""
        s = self.stack
        if name == "order-service":
            self.order.kill()
            ChaosTest.order = s.start_order("order-service", INSTANCE_ID="order-1",
                                            HTTP_PORT=self.order_port, **FAST)
        elif name == "notification-service":
            self.notify.kill()
            ChaosTest.notify = s.start_notification("notify", NOTIFY_FILE=self.notify_file,
                                                    **FAST)
        else:
            self.pay[name].kill()
            self.pay[name] = s.start_payment(name, **FAST)

    def test_random_kills_and_redis_pauses_lose_and_double_nothing(self):
        seconds = float(os.environ.get("CHAOS_SECONDS", "60"))
        seed = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
        rnd = random.Random(seed)
        print("\nchaos for %.0fs, seed %d" % (seconds, seed))
        victims = ["order-service", "notification-service", "payment-1", "payment-2", "redis"]
        stream = Stream(lambda: self.order.url, rate=30)
        stream.start()
        events = []
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(rnd.uniform(2, 6))
                victim = rnd.choice(victims)
                if victim == "redis":
                    pause = rnd.uniform(1, 4)
                    self.stack.redis.signal(signal.SIGSTOP)
                    time.sleep(pause)
                    self.stack.redis.signal(signal.SIGCONT)
                    events.append("redis paused %.1fs" % pause)
                else:
                    self.restart(victim)
                    events.append("kill -9 " + victim)
            # Let the last restart settle into the stream before it ends.
            wait_until("order-service to answer", lambda: self.order.alive(), 10)
            time.sleep(3)
        finally:
            stream.stop()
        print("faults: %s" % ", ".join(events))
        print("answers: %r" % dict(stream.answers))
        self.assertGreater(len(stream.accepted), seconds * 10)
        self.check_everything_settles_once(stream.accepted, timeout=180)


if __name__ == "__main__":
    unittest.main()
