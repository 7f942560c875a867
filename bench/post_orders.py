#!/usr/bin/env python3
"""Sends exactly N POST /orders with a fixed body over C keep-alive
connections (one thread each), for bench/callgrind_intake.sh.

    bench/post_orders.py URL N [C]

URL is the server's base (http://127.0.0.1:PORT). The body is the one of
bench/post_order.lua. Prints one line, "RESULT sent=N created=N other=N
seconds=S", and exits 1 when any answer is not a 201 or a connection fails.
"""
import http.client
import sys
import threading
import time
import urllib.parse

BODY = b'{"userId":"u1","items":[{"productId":"p1","quantity":2,"price":50}]}'
HEADERS = {"Content-Type": "application/json"}


def worker(host, port, n, counts, lock):
    created = other = 0
    conn = http.client.HTTPConnection(host, port, timeout=120)
    try:
        for _ in range(n):
            conn.request("POST", "/orders", BODY, HEADERS)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 201:
                created += 1
            else:
                other += 1
    except (OSError, http.client.HTTPException) as e:
        print(f"post_orders.py: {e}", file=sys.stderr)
        other += 1
    finally:
        conn.close()
    with lock:
        counts[0] += created
        counts[1] += other


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    url = urllib.parse.urlsplit(sys.argv[1])
    total = int(sys.argv[2])
    conns = int(sys.argv[3]) if len(sys.argv) == 4 else 1
    if total < 1 or conns < 1:
        print("post_orders.py: N and C must be >= 1", file=sys.stderr)
        return 2
    conns = min(conns, total)
    counts, lock = [0, 0], threading.Lock()
    shares = [total // conns + (1 if i < total % conns else 0) for i in range(conns)]
    start = time.monotonic()
    threads = [
        threading.Thread(target=worker, args=(url.hostname, url.port, k, counts, lock))
        for k in shares
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - start
    print(f"RESULT sent={total} created={counts[0]} other={counts[1]} seconds={secs:.2f}")
    return 0 if counts[0] == total else 1


if __name__ == "__main__":
    sys.exit(main())
