# Integration tests: real processes over TCP. name, timeout in seconds.
eb_integration_test(config 60)
eb_integration_test(dev_broker 90)
eb_integration_test(http_api 120)
eb_integration_test(flow 240)
eb_integration_test(balance 240)
eb_integration_test(dlq 300)
eb_integration_test(crash 600)
eb_integration_test(observability 180)
eb_integration_test(kafka_outage 300)
# A minute of random kills and Redis pauses (CHAOS_SECONDS), then the invariants.
eb_integration_test(chaos 420 chaos)
