"""librdkafka 2.0.2 against real Kafka releases: tests/compat/rdkafka_compat.

The probe checks each librdkafka feature the suite relies on (idempotent
producer, cooperative-sticky groups, transactions with offsets, fencing,
statistics, the Admin API calls kafka-local makes) against a running
cluster. Here it runs on the tier's cluster (kafka-local's default release,
three nodes) and on a one-node cluster of the newest 3.9 release, the last
line before Kafka 4.0 removed the oldest protocol versions (KIP-896).
Real Kafka only (EB_TEST_BROKER=kafka).
"""

import os
import subprocess
import unittest

from harness import BIN, REAL_KAFKA, StackTestCase

OTHER_RELEASE = os.environ.get("EB_COMPAT_OTHER_KAFKA", "3.9.2")


def probe(test, bootstrap):
    r = subprocess.run([os.path.join(BIN, "rdkafka_compat"), bootstrap], capture_output=True,
                       text=True, timeout=180)
    print("\n" + r.stdout)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr[-3000:])
    for feature in ("idempotent-producer", "cooperative-sticky", "transactions",
                    "send-offsets-to-transaction", "fencing", "statistics", "admin"):
        test.assertRegex(r.stdout, r"(?m)^%s: ok " % feature)


@unittest.skipUnless(REAL_KAFKA, "needs a real cluster (EB_TEST_BROKER=kafka)")
class DefaultReleaseTest(StackTestCase):
    """The release kafka-local runs by default, on the tier's cluster."""

    @classmethod
    def start(cls, s):
        s.start_broker()

    def test_every_feature_works(self):
        probe(self, self.stack.bootstrap)


@unittest.skipUnless(REAL_KAFKA, "needs a real cluster (EB_TEST_BROKER=kafka)")
class OtherReleaseTest(unittest.TestCase):
    """The newest 3.9 release, one node of its own."""

    def test_every_feature_works(self):
        from harness import Stack, wait_until
        s = Stack(brokers=1)
        out_path = os.path.join(s.dir, "out")
        p = s._spawn("kafka-local", [os.path.join(BIN, "kafka-local"), "--kafka-version",
                                     OTHER_RELEASE], env=os.environ.copy(),
                     stdout=open(out_path, "wb"))
        try:
            bootstrap = wait_until("kafka-local %s" % OTHER_RELEASE,
                                   lambda: open(out_path).read().strip() or
                                   (None if p.alive() else self.fail(p.log_text()[-2000:])),
                                   240)
            probe(self, bootstrap)
        finally:
            self.assertEqual(s.stop(), {})
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
