# Integration tests: real processes over TCP. name, timeout in seconds.
eb_integration_test(config 300)
eb_integration_test(dev_broker 90)
eb_integration_test(http_api 120)
# Group commit of POST /orders: concurrent orders, Redis lost mid-batch, a stop mid-batch.
eb_integration_test(group_commit 120)
# docs/openapi.yaml against the running APIs and admin endpoints (schemathesis).
eb_integration_test(openapi 300)
# user-service: its API, and its events through Kafka outages and a kill -9.
eb_integration_test(users 180)
eb_integration_test(flow 240)
# The events read by the CloudEvents SDK and validated against docs/schemas;
# every version of PaymentFailed, and later ones dead-lettered.
eb_integration_test(contracts 240)
# inventory-service: stock, all-or-none reservations, redelivery, a kill -9.
eb_integration_test(inventory 240)
eb_integration_test(balance 240)
eb_integration_test(dlq 300)
eb_integration_test(crash 600)
eb_integration_test(observability 180)
eb_integration_test(kafka_outage 300)
# Crashes and faults between two steps: fdatasync, a takeover, Redis data
# loss, a handler phase longer than the claim lease.
eb_integration_test(delivery 300)
# The order saga (docs/saga.md): lifecycle, compensation, rebuild.
eb_integration_test(saga 420)
# Order records: a TTL from a terminal status on, late events for expired orders.
eb_integration_test(retention 120)
# The saga's compensation in payment-service (refund once, tombstone) and
# the notifications of refunds, cancels, completions and sign-ups.
eb_integration_test(compensation 240)
# The example service (examples/shipping-notifier, built into build/bin from
# the tree): an event in, one out, dead letters, versions, SIGTERM.
eb_integration_test(example 120)
# Redis up but refusing writes (maxmemory, a replica): told apart from unreachable.
eb_integration_test(redis_refusal 120)
# Slow clients (slowloris), deadlines, a full connection table, one address past its share.
eb_integration_test(slow_clients 180)
# A minute of random kills and Redis pauses (CHAOS_SECONDS), then the invariants.
eb_integration_test(chaos 420 chaos)

# The real-Kafka tier (label kafka): the suites where real broker behaviour
# matters, on one shared three-node kafka-local cluster.
eb_kafka_test(flow 300)
eb_kafka_test(contracts 300)
eb_kafka_test(inventory 300)
eb_kafka_test(balance 300)
eb_kafka_test(dlq 300)
eb_kafka_test(compensation 300)
eb_kafka_test(users 240)
eb_kafka_test(crash 600)
eb_kafka_test(chaos 420)
eb_kafka_test(saga 400)
# Real broker faults under a stream of orders: leader and controller killed,
# a rolling restart, two of three brokers down.
eb_kafka_test(broker_faults 900)
# kafka-local itself: settings, start-up, control commands, shutdown.
eb_kafka_test(kafka_local 600)
# librdkafka 2.0.2's features on the default Kafka release and on 3.9.
eb_kafka_test(compat 500)
# Exactly-once mode: kill -9 with Redis flushed, checked by a read_committed
# consumer of PyPI's confluent-kafka. Real Kafka only: the mock keeps no
# transaction offsets or abort markers.
eb_kafka_test(exactly_once 400)
