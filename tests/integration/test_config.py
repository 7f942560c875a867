"""Every executable: --help, --version, and bad settings exit 2 with one clear
line naming the setting, before any connection is made.

"Before any connection" is checked, not assumed: KAFKA_BROKERS and REDIS_URL
point at a listening socket of the test that counts connection attempts.
"""

import os
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import BIN, bin_argv

DAEMONS = ["order-service", "user-service", "payment-service", "notification-service",
           "inventory-service"]
ALL = DAEMONS + ["kafka-dev-broker", "eventbus-dlq"]

COMMON_VARS = ["KAFKA_BROKERS", "KAFKA_CONFIG_FILE", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT",
               "INSTANCE_ID"]
# The Consumer section: every daemon that consumes (user-service only produces).
CONSUMER_VARS = ["RETRY_MAX", "RETRY_BACKOFF_MS"]
CONSUMERS = ["order-service", "payment-service", "notification-service", "inventory-service"]
OWN_VARS = {
    "order-service": ["HTTP_PORT", "HTTP_MAX_BODY"],
    "user-service": ["HTTP_PORT", "BIND_ADDRESS", "HTTP_MAX_BODY", "OUTBOX_BATCH"],
    "payment-service": ["ADMIN_PORT", "PAYMENT_LIMIT"],
    "notification-service": ["ADMIN_PORT", "NOTIFY_FILE"],
    "inventory-service": ["HTTP_PORT", "BIND_ADDRESS", "INVENTORY_DEFAULT_STOCK", "HTTP_MAX_BODY",
                          "CONSUMER_BATCH_SIZE"],
}


class Tripwire:
    """A listening socket that counts who connects to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.count += 1
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class ConfigTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.trip = Tripwire()
        cls.tmp = tempfile.mkdtemp(prefix="eventbus-config-")

    @classmethod
    def tearDownClass(cls):
        cls.trip.close()

    def run_bin(self, name, args=(), **env):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("KAFKA_", "REDIS_", "HTTP_", "ADMIN_", "PAYMENT_", "NOTIFY_",
                                  "RETRY_", "LOG_", "INSTANCE_ID", "INVENTORY_"))}
        e.update({"KAFKA_BROKERS": "127.0.0.1:%d" % self.trip.port,
                  "REDIS_URL": "redis://127.0.0.1:%d/0" % self.trip.port,
                  "NOTIFY_FILE": os.path.join(self.tmp, "n.jsonl")})
        e.update(env)
        return subprocess.run(bin_argv(name, *args), env=e, capture_output=True,
                              text=True, timeout=20)

    def test_help_lists_every_setting_with_its_default(self):
        for name in ALL:
            with self.subTest(name):
                r = self.run_bin(name, ["--help"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("Usage: " + name, r.stdout)
                for var in (OWN_VARS.get(name, []) + (COMMON_VARS if name in DAEMONS else [])
                            + (CONSUMER_VARS if name in CONSUMERS else [])):
                    self.assertIn(var, r.stdout)
                self.assertIn("default:", r.stdout)
        r = self.run_bin("order-service", ["--help"])
        self.assertRegex(r.stdout, r"HTTP_PORT\s+--http-port\s+default: 3000")
        r = self.run_bin("user-service", ["--help"])
        self.assertRegex(r.stdout, r"HTTP_PORT\s+--http-port\s+default: 3003")
        self.assertRegex(r.stdout, r"BIND_ADDRESS\s+--bind-address\s+default: 0.0.0.0")
        r = self.run_bin("payment-service", ["--help"])
        self.assertRegex(r.stdout, r"PAYMENT_LIMIT\s+--payment-limit\s+default: 10000.00")
        r = self.run_bin("inventory-service", ["--help"])
        self.assertRegex(r.stdout, r"HTTP_PORT\s+--http-port\s+default: 3004")
        self.assertRegex(r.stdout, r"INVENTORY_DEFAULT_STOCK\s+--inventory-default-stock\s+"
                                   r"default: 0")
        r = self.run_bin("kafka-dev-broker", ["--help"])
        for flag in ("--brokers", "--partitions", "--control"):
            self.assertIn(flag, r.stdout)
        r = self.run_bin("eventbus-dlq", ["--help"])
        for flag in ("-b BROKERS", "-F FILE", "-X key=value", "-p, --partition", "-o, --offset",
                     "--end-offset", "-c, --count", "--group", "--since", "--until",
                     "--event-id", "--dry-run", "KAFKA_BROKERS", "KAFKA_CONFIG_FILE",
                     "LOG_LEVEL", "LOG_FORMAT", "INSTANCE_ID"):
            self.assertIn(flag, r.stdout)
        # --help wins over a bad flag of the tool's own
        r = self.run_bin("eventbus-dlq", ["list", "x-dlq", "-p", "x", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_version(self):
        for name in ALL:
            with self.subTest(name):
                r = self.run_bin(name, ["--version"])
                self.assertEqual(r.returncode, 0)
                self.assertRegex(r.stdout, r"^%s \d+\.\d+\.\d+" % name)

    def assert_usage_error(self, r, mentions):
        self.assertEqual(r.returncode, 2, "stdout=%r stderr=%r" % (r.stdout, r.stderr))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(mentions, lines[0])

    def test_bad_settings_exit_2_naming_the_setting(self):
        bad_props = os.path.join(self.tmp, "bad.properties")
        with open(bad_props, "w") as f:
            f.write("# comment\nsession.timeout.ms=6000\nno.such.property=1\n")
        cases = [
            ("order-service", [], {"HTTP_PORT": "abc"}, "HTTP_PORT"),
            ("order-service", [], {"HTTP_PORT": "70000"}, "HTTP_PORT"),
            ("order-service", [], {"HTTP_MAX_BODY": "0"}, "HTTP_MAX_BODY"),
            ("order-service", ["--http-port", "x1"], {}, "--http-port"),
            ("order-service", ["--http-port=-5"], {}, "--http-port"),
            ("order-service", ["--no-such-flag"], {}, "--no-such-flag"),
            ("order-service", ["stray"], {}, "stray"),
            ("order-service", [], {"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
            ("order-service", [], {"REDIS_URL": "redis://127.0.0.1:99999/0"}, "REDIS_URL"),
            ("order-service", [], {"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
            ("order-service", [], {"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
            ("order-service", [], {"KAFKA_CONFIG_FILE": "/nonexistent/kafka.properties"},
             "KAFKA_CONFIG_FILE"),
            ("order-service", [], {"KAFKA_CONFIG_FILE": bad_props}, "no.such.property"),
            ("order-service", ["-X", "no.such.property=1"], {}, "no.such.property"),
            ("order-service", [], {"BIND_ADDRESS": ""}, "BIND_ADDRESS"),
            ("user-service", [], {"HTTP_PORT": "abc"}, "HTTP_PORT"),
            ("user-service", [], {"HTTP_PORT": "70000"}, "HTTP_PORT"),
            ("user-service", ["--http-port", "-1"], {}, "--http-port"),
            ("user-service", [], {"BIND_ADDRESS": ""}, "BIND_ADDRESS"),
            ("user-service", [], {"HTTP_MAX_BODY": "0"}, "HTTP_MAX_BODY"),
            ("user-service", [], {"OUTBOX_BATCH": "0"}, "OUTBOX_BATCH"),
            ("user-service", [], {"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
            ("user-service", [], {"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
            ("user-service", [], {"KAFKA_CONFIG_FILE": bad_props}, "no.such.property"),
            ("user-service", ["-X", "no.such.property=1"], {}, "no.such.property"),
            # It has no Consumer section.
            ("user-service", ["--retry-max", "3"], {}, "--retry-max"),
            ("user-service", ["stray"], {}, "stray"),
            ("payment-service", [], {"PAYMENT_LIMIT": "12.345"}, "PAYMENT_LIMIT"),
            ("payment-service", [], {"PAYMENT_LIMIT": "lots"}, "PAYMENT_LIMIT"),
            ("payment-service", [], {"PAYMENT_LIMIT": "-1"}, "PAYMENT_LIMIT"),
            ("payment-service", [], {"ADMIN_PORT": "-1"}, "ADMIN_PORT"),
            ("payment-service", [], {"RETRY_MAX": "-1"}, "RETRY_MAX"),
            ("payment-service", [], {"RETRY_BACKOFF_MS": "soon"}, "RETRY_BACKOFF_MS"),
            ("payment-service", [], {"KAFKA_CONFIG_FILE": bad_props}, "no.such.property"),
            ("notification-service", [], {"NOTIFY_FILE": "/nonexistent-dir/n.jsonl"},
             "NOTIFY_FILE"),
            ("notification-service", [], {"INSTANCE_ID": ""}, "INSTANCE_ID"),
            ("notification-service", [], {"ADMIN_PORT": "http"}, "ADMIN_PORT"),
            ("inventory-service", [], {"INVENTORY_DEFAULT_STOCK": "-1"},
             "INVENTORY_DEFAULT_STOCK"),
            ("inventory-service", [], {"INVENTORY_DEFAULT_STOCK": "4503599627370497"},
             "INVENTORY_DEFAULT_STOCK"),
            ("inventory-service", [], {"INVENTORY_DEFAULT_STOCK": "many"},
             "INVENTORY_DEFAULT_STOCK"),
            ("inventory-service", ["--inventory-default-stock", "1.5"], {},
             "--inventory-default-stock"),
            ("inventory-service", [], {"HTTP_PORT": "65536"}, "HTTP_PORT"),
            ("inventory-service", [], {"HTTP_THREADS": "0"}, "HTTP_THREADS"),
            ("order-service", [], {"HTTP_EVENT_LOOP": "kqueue"}, "HTTP_EVENT_LOOP"),
            ("inventory-service", [], {"BIND_ADDRESS": ""}, "BIND_ADDRESS"),
            ("inventory-service", [], {"REDIS_URL": "redis://"}, "REDIS_URL"),
            ("inventory-service", [], {"KAFKA_CONFIG_FILE": bad_props}, "no.such.property"),
            ("kafka-dev-broker", ["--brokers", "0"], {}, "--brokers"),
            ("kafka-dev-broker", ["--partitions", "many"], {}, "--partitions"),
            ("eventbus-dlq", ["list"], {}, "usage"),
            ("eventbus-dlq", ["purge", "x-dlq"], {}, "usage"),
            ("eventbus-dlq", ["list", "x-dlq", "--dry-run"], {}, "replay only"),
            ("eventbus-dlq", ["list", "x-dlq", "-p", "x"], {}, "-p"),
            ("eventbus-dlq", ["replay", "x-dlq", "--partition=1,"], {}, "--partition"),
            ("eventbus-dlq", ["list", "x-dlq", "-o", "start"], {}, "-o"),
            ("eventbus-dlq", ["list", "x-dlq", "-o", "5", "--end-offset", "5"], {},
             "--end-offset"),
            ("eventbus-dlq", ["list", "x-dlq", "-c", "0"], {}, "-c"),
            ("eventbus-dlq", ["list", "x-dlq", "--since", "yesterday"], {}, "--since"),
            ("eventbus-dlq", ["list", "x-dlq", "--until", "2026-02-30T00:00:00Z"], {}, "--until"),
            ("eventbus-dlq", ["list", "x-dlq", "--group"], {}, "--group"),
            ("eventbus-dlq", ["list", "x-dlq", "-b", ""], {}, "-b"),
            ("eventbus-dlq", ["list", "x-dlq", "-F", bad_props], {}, "no.such.property"),
            ("eventbus-dlq", ["list", "x-dlq", "-F", "/nonexistent/kafka.properties"], {},
             "/nonexistent/kafka.properties"),
            ("eventbus-dlq", ["list", "x-dlq", "-X", "no.such.property=1"], {},
             "no.such.property"),
            # a producer property is checked on list too, which makes no producer
            ("eventbus-dlq", ["list", "x-dlq", "-X", "producer.acks=most"], {}, "acks"),
            ("eventbus-dlq", ["list", "x-dlq", "-q"], {}, "-q"),
        ]
        for name, args, env, mentions in cases:
            with self.subTest(name=name, args=args, env=env):
                before = self.trip.count
                r = self.run_bin(name, args, **env)
                self.assert_usage_error(r, mentions)
                self.assertEqual(self.trip.count, before,
                                 "%s connected somewhere before rejecting its settings" % name)

    def test_readme_configuration_reference_is_generated_from_the_tables(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        r = subprocess.run([os.path.join(root, "scripts", "gen-config-doc.sh"), "--check", BIN],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_flag_overrides_environment(self):
        # A valid environment value, an invalid flag: the flag wins, so exit 2.
        r = self.run_bin("payment-service", ["--payment-limit", "1.001"], PAYMENT_LIMIT="5")
        self.assert_usage_error(r, "--payment-limit")
        # An invalid environment value, a valid flag: still rejected, because
        # every source is validated.
        r = self.run_bin("payment-service", ["--payment-limit", "5"], PAYMENT_LIMIT="x")
        self.assert_usage_error(r, "PAYMENT_LIMIT")


if __name__ == "__main__":
    unittest.main()
