"""A real local webhook receiver: an HTTP server in a thread that checks the HMAC signature,
records what it accepted, and can be told to fail (500) or hang."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "hook-secret"


class Hook:
    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []  # bodies answered 200
        self.refused = 0
        self.bad_signatures = 0
        self.mode = "up"  # up | down | hang
        self.release = threading.Event()
        self.hanging = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers.get("X-Liveops-Signature", "")):
                    hook.bad_signatures += 1
                    self._answer(401)
                    return
                if hook.mode == "hang":
                    hook.hanging.set()
                    hook.release.wait(30)
                if hook.mode == "down":
                    hook.refused += 1
                    self._answer(500)
                    return
                hook.accepted.append(json.loads(body))
                self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> list[str]:
        return [b["idempotency_key"] for b in self.accepted]

    def notices(self) -> list[dict[str, Any]]:
        return [n for b in self.accepted for n in b["alerts"]]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
