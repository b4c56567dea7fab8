#!/usr/bin/env python3
"""Drives complete contract negotiations between two running kexin nodes (bench/negotiation_bench.sh).

Usage: negotiation_driver.py CONSUMER_URL TOKEN CONSUMER_DB (SQLite path or postgresql:// URL) PEER DATASET OFFER POLICY_FILE N CONCURRENCY
Starts N negotiations through POST /v1/negotiations from CONCURRENCY client threads (kept-alive
HTTP connections), then waits until all N are FINALIZED (counted in the consumer's SQLite store).
Prints one JSON line: n, concurrency, seconds, negotiations_per_second, start_seconds, terminated.
"""
import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse


def main():
    url, token, db, peer, dataset, offer, policy_file, n, conc = sys.argv[1:10]
    n, conc = int(n), int(conc)
    policy = json.load(open(policy_file))
    body = json.dumps({"peer": peer, "dataset": dataset, "offer": offer, "policy": policy})
    u = urllib.parse.urlsplit(url)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    counter = iter(range(n))
    lock = threading.Lock()
    errors = []

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            conn.request("POST", "/v1/negotiations", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 201:
                errors.append((r.status, data[:200]))

    if db.startswith("postgresql://"):
        def count(state):
            out = subprocess.run(["psql", "-Atc", "SELECT COUNT(*) FROM negotiations WHERE state"
                                  " = '%s'" % state, db], capture_output=True, text=True, check=True)
            return int(out.stdout.strip())
    else:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
        def count(state):
            return con.execute("SELECT COUNT(*) FROM negotiations WHERE state = ?",
                               (state,)).fetchone()[0]
    base_final, base_term = count("FINALIZED"), count("TERMINATED")
    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_started = time.time() - t0
    if errors:
        print("driver: %d starts failed, first: %s" % (len(errors), errors[0]), file=sys.stderr)
    want = n - len(errors)
    last, last_change = -1, time.time()
    while True:
        done = count("FINALIZED") - base_final
        term = count("TERMINATED") - base_term
        if done + term >= want:
            break
        if done != last:
            last, last_change = done, time.time()
        elif time.time() - last_change > 60:
            print("driver: stuck at %d of %d finalized" % (done, want), file=sys.stderr)
            sys.exit(1)
        time.sleep(0.02)
    secs = time.time() - t0
    print(json.dumps({"n": n, "concurrency": conc, "seconds": round(secs, 3),
                      "negotiations_per_second": round(done / secs, 1),
                      "start_seconds": round(t_started, 3), "finalized": done,
                      "terminated": term, "failed_starts": len(errors)}))
    sys.exit(0 if term == 0 and not errors else 1)


if __name__ == "__main__":
    main()
