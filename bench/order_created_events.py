#!/usr/bin/env python3
"""Writes N OrderCreated events for kcat -K $'\\x1f': "orderId<US>event" per line.

One in ten has a total above PAYMENT_LIMIT (PaymentFailed). Used by
bench/consumer_drain.sh and bench/callgrind_drain.sh.
"""
import json
import sys
import uuid

for i in range(int(sys.argv[1])):
    oid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    price = 20000 if i % 10 == 0 else 10 + i % 90  # one in ten above PAYMENT_LIMIT
    ev = {"specversion": "1.0", "id": eid, "source": "/order-service", "type": "OrderCreated",
          "time": "2026-11-21T10:30:00.000Z", "datacontenttype": "application/json",
          "subject": oid, "correlationid": eid, "causationid": eid,
          "data": {"orderId": oid, "userId": "u%d" % (i % 1000),
                   "items": [{"productId": "p1", "quantity": 1, "price": price}],
                   "total": price, "currency": "USD"}}
    sys.stdout.write(oid + "\x1f" + json.dumps(ev, separators=(",", ":")) + "\n")
