"""kafka-dev-broker: bootstrap line, the contract's topics, the control socket."""

import os
import re
import subprocess
import unittest

from harness import SUITE_TOPICS, StackTestCase, scaled, wait_until

TOPICS = SUITE_TOPICS


def metadata(bootstrap, timeout=10):
    """kcat -L as {"brokers": n, "topics": {name: partitions}}."""
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-m", "5"], capture_output=True,
                         text=True, timeout=timeout).stdout
    brokers = re.search(r"(\d+) brokers:", out)
    topics = {m.group(1): int(m.group(2))
              for m in re.finditer(r'topic "([^"]+)" with (\d+) partitions', out)}
    return {"brokers": int(brokers.group(1)) if brokers else 0, "topics": topics, "raw": out}


class DevBrokerTest(StackTestCase):

    stack_args = {"brokers": 3, "partitions": 4}

    @classmethod
    def start(cls, s):
        s.start_broker(control=True)

    def command(self, line):
        return self.stack.broker_command(line)

    def test_bootstrap_line_lists_loopback_brokers(self):
        addrs = self.stack.bootstrap.split(",")
        self.assertEqual(len(addrs), 3)
        for a in addrs:
            self.assertRegex(a, r"^127\.0\.0\.1:\d+$")

    def test_contract_topics_exist_with_the_partition_count(self):
        md = wait_until("metadata", lambda: metadata(self.stack.bootstrap)["brokers"] == 3 and
                        metadata(self.stack.bootstrap))
        for t in TOPICS:
            self.assertEqual(md["topics"].get(t), 4, md["raw"])

    def test_control_commands(self):
        self.assertEqual(self.command("rtt all 5"), "ok")
        self.assertEqual(self.command("rtt 2 0"), "ok")
        self.assertEqual(self.command("leader order-created 0 2"), "ok")
        self.assertEqual(self.command("down 3"), "ok")
        self.assertEqual(self.command("up 3"), "ok")
        self.assertEqual(self.command("coordinator payment-service 2"), "ok")
        for bad in ("down 9", "down", "up x", "rtt 1", "rtt 1 -4", "leader nosuchtopic 0 1",
                    "leader order-created 4 1", "leader order-created 0 7", "reboot 1",
                    "coordinator payment-service", "coordinator g 9"):
            with self.subTest(bad):
                self.assertTrue(self.command(bad).startswith("error: "), bad)

    def test_leader_moves_partition(self):
        self.assertEqual(self.command("leader payment-failed 1 3"), "ok")
        md = wait_until("leader 3 for payment-failed[1]", lambda: re.search(
            r"partition 1, leader 3,", metadata(self.stack.bootstrap)["raw"].split(
                'topic "payment-failed"')[1].split("topic ")[0]))
        self.assertTrue(md)

    def test_all_down_then_up(self):
        self.assertEqual(self.command("down all"), "ok")
        self.assertEqual(metadata(self.stack.bootstrap, 15)["brokers"], 0)
        self.assertEqual(self.command("up all"), "ok")
        wait_until("brokers back", lambda: metadata(self.stack.bootstrap)["brokers"] == 3, 20)

    def test_z_sigterm_exits_0_and_removes_the_socket(self):
        rc, took = self.stack.broker.stop()
        self.assertEqual(rc, 0)
        self.assertLess(took, scaled(10))
        self.assertFalse(os.path.exists(self.stack.control))


class DefaultsTest(StackTestCase):

    @classmethod
    def start(cls, s):
        s.start_broker()  # no flags: the defaults

    def test_one_broker_six_partitions_by_default(self):
        bootstrap = self.stack.bootstrap
        self.assertRegex(bootstrap, r"^127\.0\.0\.1:\d+$")
        md = wait_until("metadata", lambda: metadata(bootstrap)["topics"] and metadata(bootstrap))
        self.assertEqual(md["brokers"], 1)
        for t in TOPICS:
            self.assertEqual(md["topics"].get(t), 6)


if __name__ == "__main__":
    unittest.main()
