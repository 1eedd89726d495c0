#!/usr/bin/env python3
"""Ships token usage from an nginx access log to Gateway Console (POST /v1/usage).

Reads JSON log lines (the `usage` log_format in the README) on standard input, e.g.

    tail -n 0 -F /var/log/nginx/usage.log | \
      CONSOLE_URL=http://console:3000 CONSOLE_USAGE_TOKEN=gct_... GATEWAY_ID=gw-... \
      python3 scripts/usage-shipper.py

and posts them in batches (up to 1,000 records, or every 2 seconds). A batch the console
does not take (it is down, or answers 5xx) is sent again, unchanged, until it is: the console
counts each request ID once, so a retry never counts twice. Lines without a consumer or
without token counts (a refused request, a backend that reports none) are skipped. Only the
Python standard library is used.
"""

import json
import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request

BATCH = 1000
EVERY = 2.0


def record(line):
    """The usage record of one log line, or None when it has none."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    consumer = entry.get("consumerId") or ""
    api = entry.get("apiId") or ""
    try:
        prompt = int(entry.get("promptTokens") or "")
        completion = int(entry.get("completionTokens") or "")
        at = int(float(entry["msec"]) * 1000)
    except (KeyError, ValueError):
        return None
    if not consumer or not api or not entry.get("requestId"):
        return None
    return {
        "requestId": entry["requestId"],
        "consumerId": consumer,
        "apiId": api,
        "promptTokens": prompt,
        "completionTokens": completion,
        "timestamp": at,
    }


def post(url, token, gateway, records):
    """Posts until the console has taken the batch; its answer's data."""
    body = json.dumps({"gatewayId": gateway, "records": records}).encode()
    delay = 1.0
    while True:
        req = urllib.request.Request(
            url + "/v1/usage",
            data=body,
            method="POST",
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return json.load(res)["data"]
        except urllib.error.HTTPError as e:
            if e.code < 500:
                # The batch itself is refused (it would be every time): say so and drop it.
                print(f"usage-shipper: batch refused: {e.code} {e.read().decode()[:300]}", file=sys.stderr)
                return None
        except (urllib.error.URLError, OSError) as e:
            print(f"usage-shipper: {e}; retrying in {delay:.0f} s", file=sys.stderr)
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def main():
    url = os.environ["CONSOLE_URL"].rstrip("/")
    token = os.environ["CONSOLE_USAGE_TOKEN"]
    gateway = os.environ["GATEWAY_ID"]
    lines = queue.Queue(maxsize=100_000)

    def read():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    pending, since, done = [], time.monotonic(), False
    while not done:
        try:
            line = lines.get(timeout=max(0.1, EVERY - (time.monotonic() - since)))
        except queue.Empty:
            line = ""
        if line is None:
            done = True
        elif line:
            r = record(line)
            if r is not None:
                pending.append(r)
        if pending and (done or len(pending) >= BATCH or time.monotonic() - since >= EVERY):
            answer = post(url, token, gateway, pending)
            if answer and answer["rejected"]:
                print(f"usage-shipper: {len(answer['rejected'])} records left out: {answer['rejected'][:3]}", file=sys.stderr)
            pending = []
        if time.monotonic() - since >= EVERY:
            since = time.monotonic()


if __name__ == "__main__":
    main()
