"""docs/openapi.yaml against the running services, checked by schemathesis.

schemathesis (PyPI, pinned in tests/requirements.txt, installed into .pytools
by scripts/install-deps.sh --pytools) loads the document, which validates
it, then generates requests for every operation of a service, valid and
invalid, and checks every answer: no server error, a status code and a
content type the document lists for the operation, headers and body that
match its schema; and for methods a path does not serve, 405 with an Allow
header that names the ones it does. The daemons must all still be running
at the end and exit cleanly (no crash, no leak report under ASan).

The run is bounded and repeatable: a fixed seed, a number of examples per
operation (fewer under valgrind), one worker, no example database.
"""

import os
import subprocess
import sys
import time
import unittest

from harness import BIN, WRAPPER, StackTestCase, http, scaled

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DOC = os.path.join(ROOT, "docs", "openapi.yaml")
SCHEMATHESIS = os.path.join(ROOT, ".pytools", "bin", "schemathesis")

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "unsupported_method",
    "allow_header_conformance"])
SEED = 20261121
# Examples per operation: a valgrind run (EB_TEST_WRAPPER) answers ~20x
# slower, so it tries fewer. EB_OPENAPI_EXAMPLES sets it (a longer hunt).
EXAMPLES = int(os.environ.get("EB_OPENAPI_EXAMPLES", 5 if WRAPPER else 30))


class OpenApiTest(StackTestCase):

    @classmethod
    def start(cls, stack):
        if not os.path.exists(SCHEMATHESIS):
            raise unittest.SkipTest("schemathesis is not installed: run "
                                    "scripts/install-deps.sh --pytools")
        stack.start_infra()
        cls.order = stack.start_order()
        cls.user = stack.start_user()
        cls.inventory = stack.start_inventory()
        cls.payment = stack.start_payment()
        for p in (cls.order, cls.user, cls.inventory, cls.payment):
            stack.wait_ready(p, 60)

    def schemathesis(self, proc, *tags):
        """Runs schemathesis on the operations tagged tags against proc;
        fails with its report when it finds anything."""
        report = os.path.join(self.stack.dir, "schemathesis-%s" % proc.name)
        argv = [SCHEMATHESIS, "run", DOC, "--url", proc.url, "--checks", CHECKS,
                "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
                "--generation-database", "none", "--request-timeout", str(scaled(10)),
                "--no-color", "--report", "junit", "--report-dir", report]
        for t in tags:
            argv += ["--include-tag", t]
        start = time.monotonic()
        # In the stack's directory: schemathesis keeps a .schemathesis/ there.
        out = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(240),
                             cwd=self.stack.dir)
        took = time.monotonic() - start
        sys.stdout.write("schemathesis on %s (%s): exit %d in %.1fs\n%s\n" % (
            proc.name, ",".join(tags), out.returncode, took, out.stdout[-3000:]))
        self.assertTrue(proc.alive(), "%s died under schemathesis" % proc.name)
        self.assertEqual(out.returncode, 0, "schemathesis found problems on %s:\n%s\n%s" % (
            proc.name, out.stdout, out.stderr[-3000:]))

    def test_order_service(self):
        # An order to find, cancel and complete, so the generated requests
        # reach more than the 404 of an unknown id.
        status, _, order = http("POST", self.order.url + "/orders",
                                {"userId": "u1", "items": [{"productId": "p1", "quantity": 1,
                                                            "price": 5}]})
        self.assertEqual(status, 201, order)
        self.schemathesis(self.order, "orders", "admin")

    def test_user_service(self):
        self.schemathesis(self.user, "users", "admin")

    def test_inventory_service(self):
        self.schemathesis(self.inventory, "inventory", "admin")

    def test_payment_service_admin(self):
        self.schemathesis(self.payment, "admin")

    def test_zz_every_daemon_alive(self):
        for p in (self.order, self.user, self.inventory, self.payment):
            self.assertTrue(p.alive(), "%s is not running" % p.name)


if __name__ == "__main__":
    unittest.main()
