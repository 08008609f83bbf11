#!/usr/bin/env python3
"""A local alert receiver for `make run`: prints each webhook notification Opsight delivers and checks its
X-Opsight-Signature (HMAC-SHA256 over "timestamp.body") when OPSIGHT_WEBHOOK_SECRET is set."""
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("OPSIGHT_WEBHOOK_SECRET", "").encode()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signed = "unsigned"
        if SECRET:
            ts = self.headers.get("X-Opsight-Timestamp", "")
            want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            signed = "signature ok" if hmac.compare_digest(want, self.headers.get("X-Opsight-Signature", "")) else "BAD SIGNATURE"
        try:
            payload = json.loads(body)
            for alert in payload.get("alerts", []):
                labels = alert.get("labels", {})
                summary = alert.get("annotations", {}).get("summary", "")
                print(f"[alert] {alert.get('status','?'):8} {labels.get('alertname','?')} "
                      f"{ {k: v for k, v in labels.items() if k != 'alertname'} } {summary} ({signed})", flush=True)
        except ValueError:
            print(f"[alert] unreadable body ({len(body)} bytes)", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9401").rsplit(":", 1)
    HTTPServer((host, int(port)), Handler).serve_forever()
