"""Porch's reference webhook receiver: checks every delivery with the `standardwebhooks`
library (PyPI) and keeps each verified event once, whatever the retries.

    pip install standardwebhooks
    python3 receiver.py --secret whsec_... --out events.jsonl [--port 8090]

A delivery that does not verify (a wrong or rotated-out secret, an altered body, a timestamp
more than five minutes away) gets 400 and is not kept; Porch then retries it and, in the end,
dead-letters it. A verified one is appended to --out as one JSON line, {"id", "event"}, unless
its `webhook-id` was seen before (Porch delivers at least once), and gets 204 at once: work
that takes long belongs after the answer, or Porch times the attempt out and sends it again.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def serve(secret: str, out: str, port: int) -> ThreadingHTTPServer:
    hook, seen, lock = Webhook(secret), set(), threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                event = hook.verify(body, dict(self.headers))
            except WebhookVerificationError as e:
                return self.answer(400, f"not verified: {e}")
            with lock:
                webhook_id = self.headers["webhook-id"]
                if webhook_id not in seen:
                    seen.add(webhook_id)
                    with open(out, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"id": webhook_id, "event": event}) + "\n")
            self.answer(204, "")

        def answer(self, status: int, text: str) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_… secret")
    parser.add_argument("--out", required=True, help="file the verified events are appended to")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    args = parser.parse_args()
    server = serve(args.secret, args.out, args.port)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
