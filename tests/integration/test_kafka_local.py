"""kafka-local itself: settings, start-up, the control socket, shutdown.

A one-node cluster of its own (not the tier's shared one), checked with
independent clients: kcat for metadata, kafka-python for records.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (BIN, SUITE_TOPICS, Abort, Proc, child_pids, control_command, gone,
                     wait_until)

KAFKA_LOCAL = os.path.join(BIN, "kafka-local")
TOPICS = SUITE_TOPICS


def run(*args, env=None):
    return subprocess.run([KAFKA_LOCAL] + list(args), capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)


class SettingsTest(unittest.TestCase):
    """Bad settings exit 2 with one line naming them, before anything starts."""

    def test_help_and_version_exit_0(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for var in ("KAFKA_LOCAL_BROKERS", "KAFKA_LOCAL_PARTITIONS", "KAFKA_LOCAL_CONTROL",
                    "KAFKA_LOCAL_DATA", "KAFKA_LOCAL_VERSION", "KAFKA_LOCAL_HEAP_MB"):
            self.assertIn(var, r.stdout)
        self.assertEqual(run("--version").returncode, 0)

    def test_bad_settings_exit_2_naming_them(self):
        for args, name in ((["--brokers", "0"], "--brokers"),
                           (["--brokers", "10"], "--brokers"),
                           (["--partitions", "x"], "--partitions"),
                           (["--kafka-version", "3.6.2"], "KAFKA_LOCAL_VERSION"),
                           (["--kafka-version", "latest"], "--kafka-version"),
                           (["--data", "/proc/no/such/dir"], "KAFKA_LOCAL_DATA"),
                           (["--control", "/proc/no/such/dir/ctl"], "KAFKA_LOCAL_CONTROL"),
                           (["--jvm-opts", " ".join(["-Dx"] * 25)], "KAFKA_LOCAL_JVM_OPTS"),
                           (["--no-such-flag"], "no-such-flag")):
            r = run(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(name, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_no_java_exits_2(self):
        env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
        env["PATH"] = "/nonexistent"
        r = run(env=env)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("java not found", r.stderr)

    def test_a_version_maven_cannot_fetch_exits_2(self):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, KAFKA_LOCAL_CACHE=cache)
            r = subprocess.run([KAFKA_LOCAL, "--kafka-version", "3.99.0"], capture_output=True,
                               text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr[-500:])
        self.assertIn("Maven cannot fetch Apache Kafka 3.99.0", r.stderr)
        self.assertIn("KAFKA_LOCAL_VERSION", r.stderr.strip().splitlines()[-1])


class ClusterTest(unittest.TestCase):
    """One node on its own data directory, driven through the control socket."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="kafka-local-it-")
        cls.data = os.path.join(cls.dir, "data")
        cls.control = os.path.join(cls.dir, "control.sock")
        cls.start_cluster()

    @classmethod
    def start_cluster(cls):
        out = os.path.join(cls.dir, "out")
        if os.path.exists(out):
            os.unlink(out)
        cls.proc = Proc("kafka-local", [KAFKA_LOCAL, "--partitions", "3", "--control", cls.control,
                                        "--data", cls.data], os.environ.copy(),
                        os.path.join(cls.dir, "kafka-local.log"), stdout=open(out, "wb"))
        started = time.monotonic()

        def first_line():
            with open(out) as f:
                line = f.readline()
            if not line and not cls.proc.alive():
                raise Abort(cls.proc.log_text()[-2000:])
            return line.strip() if line.endswith("\n") else None
        cls.bootstrap = wait_until("the bootstrap line", first_line, 180)
        cls.start_seconds = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        if cls.proc.alive():
            cls.proc.stop(60)
        subprocess.run(["rm", "-rf", cls.dir])

    def command(self, line):
        return control_command(self.control, line, 240)

    def metadata(self):
        out = subprocess.run(["kcat", "-b", self.bootstrap, "-L", "-J", "-m", "10"],
                             capture_output=True, text=True, timeout=30)
        return json.loads(out.stdout)

    def test_a_bootstrap_line_comes_once_the_topics_exist(self):
        self.assertRegex(self.bootstrap, r"^127\.0\.0\.1:\d+$")
        md = self.metadata()
        self.assertEqual([b["id"] for b in md["brokers"]], [1])
        topics = {t["topic"]: t for t in md["topics"] if not t["topic"].startswith("__")}
        self.assertEqual(set(topics), TOPICS)
        for t in topics.values():
            self.assertEqual(len(t["partitions"]), 3, t["topic"])
            for p in t["partitions"]:
                self.assertEqual(p["leader"], 1)
        print("\none node ready in %.1fs" % self.start_seconds)

    def test_b_control_commands(self):
        self.assertEqual(self.command("controller"), "ok 1")
        self.assertEqual(self.command("leader order-created 0 1"), "ok")
        self.assertEqual(self.command("rtt 1 100"), "error: unsupported on a real cluster")
        self.assertTrue(self.command("bogus").startswith("error: unknown command"))
        self.assertTrue(self.command("down 2").startswith("error: usage"))
        self.assertTrue(self.command("leader no-such-topic 0 1").startswith("error: usage"))

    def test_c_down_kills_and_up_restarts_on_the_same_data(self):
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        p.send("order-created", key=b"k", value=b"before the kill").get(timeout=30)
        p.close()
        jvm = child_pids(self.proc.pid)
        self.assertEqual(len(jvm), 1, jvm)
        self.assertEqual(self.command("down 1"), "ok")
        self.assertTrue(gone(jvm[0]), "the JVM survived down")
        self.assertEqual(self.command("up 1"), "ok")
        self.assertIn("before the kill", self.read_all("order-created"))
        self.assertEqual(self.command("stop 1"), "ok")
        self.assertEqual(self.command("up 1"), "ok")
        self.assertIn("before the kill", self.read_all("order-created"))

    def test_d_reset_deletes_records_and_groups(self):
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        p.send("payment-failed", key=b"k", value=b"old").get(timeout=30)
        p.close()
        subprocess.run(["kcat", "-b", self.bootstrap, "-G", "reset-test", "-e", "-q",
                        "-X", "auto.offset.reset=earliest", "payment-failed"],
                       capture_output=True, timeout=60)
        self.assertIn("reset-test", self.groups())
        self.assertEqual(self.command("reset"), "ok")
        self.assertEqual(self.read_all("payment-failed"), [])
        self.assertNotIn("reset-test", self.groups())

    def groups(self):
        from kafka import KafkaAdminClient
        a = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            return {g[0] for g in a.list_consumer_groups()}
        finally:
            a.close()

    def test_e_sigterm_stops_every_jvm_and_keeps_data(self):
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        p.send("order-created", key=b"k", value=b"kept across runs").get(timeout=30)
        p.close()
        jvm = child_pids(self.proc.pid)
        rc, took = self.proc.stop(90)
        self.assertEqual(rc, 0, self.proc.log_text()[-2000:])
        self.assertTrue(all(gone(j) for j in jvm), jvm)
        self.assertTrue(os.path.exists(os.path.join(self.data, "node-1", "data",
                                                    "meta.properties")))
        print("\ngraceful stop of one node took %.1fs" % took)
        # --data again: the same cluster, its records still there.
        ClusterTest.start_cluster()
        self.assertIn("kept across runs", self.read_all("order-created"))

    def read_all(self, topic):
        from kafka import KafkaConsumer, TopicPartition
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            parts = [TopicPartition(topic, p) for p in range(3)]
            c.assign(parts)
            c.seek_to_beginning(*parts)
            end = c.end_offsets(parts)
            values = []
            deadline = time.monotonic() + 30
            while any(c.position(tp) < end[tp] for tp in parts) and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=500).values():
                    values += [r.value.decode() for r in recs]
            return values
        finally:
            c.close()


class TemporaryDataTest(unittest.TestCase):
    """Without --data, SIGTERM removes the data directory and every JVM."""

    def test_sigterm_removes_everything(self):
        tmp = tempfile.mkdtemp(prefix="kafka-local-tmp-")
        out = os.path.join(tmp, "out")
        env = dict(os.environ, TMPDIR=tmp)
        p = Proc("kafka-local", [KAFKA_LOCAL], env, os.path.join(tmp, "log"),
                 stdout=open(out, "wb"))
        try:
            wait_until("the bootstrap line", lambda: open(out).read().endswith("\n"), 180)
            jvm = child_pids(p.pid)
            data = [d for d in os.listdir(tmp) if d.startswith("kafka-local-")]
            self.assertEqual(len(data), 1, data)
            p.signal(signal.SIGTERM)
            self.assertEqual(p.popen.wait(60), 0)
            self.assertTrue(all(gone(j) for j in jvm))
            self.assertEqual([d for d in os.listdir(tmp) if d.startswith("kafka-local-")], [])
        finally:
            if p.alive():
                p.kill()
            subprocess.run(["rm", "-rf", tmp])


    def test_a_storage_format_that_fails_leaves_nothing(self):
        # A java that runs nothing: the storage tool fails before any node.
        tmp = tempfile.mkdtemp(prefix="kafka-local-tmp-")
        try:
            os.makedirs(os.path.join(tmp, "jdk", "bin"))
            fake = os.path.join(tmp, "jdk", "bin", "java")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho fake java refuses >&2\nexit 1\n")
            os.chmod(fake, 0o755)
            env = dict(os.environ, TMPDIR=tmp, JAVA_HOME=os.path.join(tmp, "jdk"))
            r = subprocess.run([KAFKA_LOCAL], capture_output=True, text=True, timeout=120,
                               env=env, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 1, r.stderr[-2000:])
            self.assertEqual(r.stdout, "")
            self.assertIn("formatting node 1 failed", r.stderr)
            self.assertEqual([d for d in os.listdir(tmp) if d.startswith("kafka-local-")], [])
        finally:
            subprocess.run(["rm", "-rf", tmp])

    def test_a_node_that_cannot_start_fails_the_start_and_leaves_nothing(self):
        tmp = tempfile.mkdtemp(prefix="kafka-local-tmp-")
        try:
            env = dict(os.environ, TMPDIR=tmp)
            r = subprocess.run([KAFKA_LOCAL, "--jvm-opts", "-XX:+NoSuchJvmOption"],
                               capture_output=True, text=True, timeout=120, env=env,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 1, r.stderr[-2000:])
            self.assertEqual(r.stdout, "")  # no bootstrap line
            self.assertIn("NoSuchJvmOption", r.stderr)  # the node's own words
            self.assertEqual([d for d in os.listdir(tmp) if d.startswith("kafka-local-")], [])
        finally:
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    unittest.main()
