# Unit tests (cmocka, pure logic): one file per module, tests/unit/test_<module>.c.
# eb_unit_test() is defined in tests/CMakeLists.txt and links the eventbus library
# plus the domain libraries named here.
eb_unit_test(config)
eb_unit_test(envelope)
eb_unit_test(money)
eb_unit_test(backoff)
eb_unit_test(json)
eb_unit_test(turn)
eb_unit_test(redis)
eb_unit_test(dlq)
eb_unit_test(metrics)
eb_unit_test(http)
eb_unit_test(probe eventbus_app)
eb_unit_test(domain svc_common)
eb_unit_test(order order_domain svc_common)
eb_unit_test(payment payment_domain svc_common)
eb_unit_test(notify notify_domain svc_common)
eb_unit_test(control tool_common)
