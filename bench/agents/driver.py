#!/usr/bin/env python3
"""HTTP driver of bench/agents.sh (standard library only).

  driver.py create BASE KEY PREFIX FIRST COUNT
      Creates agents PREFIX-<i> for i in [FIRST, FIRST+COUNT), each active,
      local provider, triggered by the signal type PREFIX.a<i> (one agent
      per type). Prints "created N".
  driver.py emit BASE KEY PREFIX FIRST COUNT SIGNALS TAG BATCH
      Emits SIGNALS signals round-robin over the types of agents [FIRST,
      FIRST+COUNT), BATCH signals per request, as fast as 4 keep-alive
      connections go. Payload {"tag": TAG, "n": i}. Prints "emitted N".
  driver.py offer BASE KEY PREFIX COUNT RATE SECONDS TAG
      One signal per request at RATE requests/s for SECONDS, over RATE/4
      (16..256) keep-alive connections, each request sent at its scheduled
      time (requests that start more than 10 ms late are counted). Prints "offered_per_s",
      "late_requests", "errors".
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse


def connection(base):
    u = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


class client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, base, key):
        self.base = base
        self.headers = {"Authorization": "Bearer " + key,
                        "Content-Type": "application/json"}
        self.conn = connection(base)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                res = self.conn.getresponse()
                text = res.read()
                return res.status, text
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = connection(self.base)
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")


def in_threads(n, fn):
    errors = []

    def run(i):
        try:
            fn(i)
        except Exception as e:  # reported, not swallowed
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.stderr.write("driver errors: %s\n" % errors[:3])
    return errors


def signal_type(prefix, i):
    return "%s.a%05d" % (prefix, i)


def create(base, key, prefix, first, count):
    lock = threading.Lock()
    done = [0]
    failures = []
    indexes = list(range(first, first + count))

    def work(t):
        c = client(base, key)
        for i in indexes[t::4]:
            body = {
                "name": "%s-%05d" % (prefix, i),
                "purpose": "benchmark agent",
                "provider": "local",
                "model": "local-extractive",
                "system_prompt": "You acknowledge benchmark signals briefly.",
                "triggers": [signal_type(prefix, i)],
                "state": "active",
            }
            status, text = c.call("POST", "/api/v1/agents", body)
            if status // 100 != 2:
                with lock:
                    failures.append("%d %s" % (status, text[:300]))
                continue
            agent = json.loads(text)
            if agent.get("state") != "active":
                status, text = c.call("PATCH", "/api/v1/agents/" + agent["id"],
                                      {"state": "active"})
                if status // 100 != 2:
                    with lock:
                        failures.append("%d %s" % (status, text[:300]))
                    continue
            with lock:
                done[0] += 1

    in_threads(4, work)
    if failures:
        sys.stderr.write("agent creation failed %d times, e.g. %s\n"
                         % (len(failures), failures[0]))
    print("created %d" % done[0])
    return 0 if done[0] == count else 1


def emit(base, key, prefix, first, count, signals, tag, batch):
    lock = threading.Lock()
    sent = [0]
    failures = []
    chunks = []
    for start in range(0, signals, batch):
        items = []
        for n in range(start, min(signals, start + batch)):
            items.append({"type": signal_type(prefix, first + n % count),
                          "payload": {"tag": tag, "n": n}})
        chunks.append(items)

    def work(t):
        c = client(base, key)
        for items in chunks[t::4]:
            body = items[0] if batch == 1 else {"signals": items}
            status, text = c.call("POST", "/api/v1/signals", body)
            with lock:
                if status // 100 == 2:
                    sent[0] += len(items)
                else:
                    failures.append("%d %s" % (status, text[:300]))

    in_threads(4, work)
    if failures:
        sys.stderr.write("emit failed %d times, e.g. %s\n"
                         % (len(failures), failures[0]))
    print("emitted %d" % sent[0])
    return 0 if sent[0] == signals else 1


def offer(base, key, prefix, count, rate, seconds, tag):
    total = int(rate * seconds)
    # One request in flight per connection: enough connections that a
    # server answering in 250 ms still receives RATE requests/s.
    connections = max(16, min(256, int(rate / 4)))
    lock = threading.Lock()
    stats = {"ok": 0, "errors": 0, "late": 0}
    start = time.monotonic() + 0.5

    def work(t):
        c = client(base, key)
        for n in range(t, total, connections):
            at = start + n / rate
            now = time.monotonic()
            if at > now:
                time.sleep(at - now)
            elif now - at > 0.01:
                with lock:
                    stats["late"] += 1
            body = {"type": signal_type(prefix, n % count),
                    "payload": {"tag": tag, "n": n}}
            try:
                status, _ = c.call("POST", "/api/v1/signals", body)
                ok = status // 100 == 2
            except Exception:
                ok = False
            with lock:
                stats["ok" if ok else "errors"] += 1

    in_threads(connections, work)
    elapsed = time.monotonic() - start
    print("offered_per_s %.0f" % (stats["ok"] / elapsed))
    print("late_requests %d" % stats["late"])
    print("errors %d" % stats["errors"])
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "create":
        return create(args[0], args[1], args[2], int(args[3]), int(args[4]))
    if cmd == "emit":
        return emit(args[0], args[1], args[2], int(args[3]), int(args[4]),
                    int(args[5]), args[6], int(args[7]))
    if cmd == "offer":
        return offer(args[0], args[1], args[2], int(args[3]), float(args[4]),
                     float(args[5]), args[6])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
