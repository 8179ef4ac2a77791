#!/usr/bin/env python3
"""Client side of bench/packages.sh: publishing versions and install /
uninstall cycles over the HTTP API. Prints "name value" lines; the figures
themselves come from the database (bench/packages.sh).

  driver.py publish BASE KEY MANIFEST N     publish N versions 1.0.0 .. 1.0.N-1
  driver.py cycles BASE KEY N               N install + uninstall cycles of
                                            fleetprompt/support-triage
"""
import json
import sys
import time
import urllib.error
import urllib.request


def call(base, key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def publish(base, key, manifest_path, n):
    with open(manifest_path) as f:
        manifest = json.load(f)
    manifest["name"] = "bench/published"
    errors = 0
    start = time.monotonic()
    for i in range(n):
        manifest["version"] = "1.0.%d" % i
        status, _ = call(base, key, "POST", "/api/v1/packages", manifest)
        if status != 201:
            errors += 1
    elapsed = time.monotonic() - start
    print("published", n - errors)
    print("errors", errors)
    print("publish_per_s", "%.1f" % ((n - errors) / elapsed if elapsed > 0 else 0))


def wait_state(base, key, inst_id, states, limit_s=60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status, body = call(base, key, "GET", "/api/v1/installations/" + inst_id)
        if status == 200 and body.get("state") in states:
            return body["state"]
        time.sleep(0.005)
    return None


def cycles(base, key, n):
    request = {
        "package": "fleetprompt/support-triage",
        "range": "^1.0",
        "config": {"webhook_url": "http://127.0.0.1:9/escalations"},
        "credentials": {"webhook_secret": "whsec_YmVuY2htYXJrLXNlY3JldC0wMTIzNDU2Nzg5"},
        "permissions": ["directive:webhook.post", "signals:read:support.*"],
    }
    done = failed = 0
    start = time.monotonic()
    for _ in range(n):
        status, body = call(base, key, "POST", "/api/v1/installations", request)
        if status not in (200, 202):
            failed += 1
            print("install_error", status, json.dumps(body), file=sys.stderr)
            continue
        inst_id = body["id"]
        if wait_state(base, key, inst_id, ("installed", "failed")) != "installed":
            failed += 1
            continue
        status, _ = call(base, key, "DELETE", "/api/v1/installations/" + inst_id)
        if status != 202 or wait_state(base, key, inst_id, ("uninstalled",)) is None:
            failed += 1
            continue
        done += 1
    elapsed = time.monotonic() - start
    print("cycles", done)
    print("failed", failed)
    print("cycles_per_s", "%.2f" % (done / elapsed if elapsed > 0 else 0))


def main(argv):
    if len(argv) >= 5 and argv[1] == "publish":
        publish(argv[2], argv[3], argv[4], int(argv[5]))
    elif len(argv) >= 4 and argv[1] == "cycles":
        cycles(argv[2], argv[3], int(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
