"""A loopback HTTP server for fake carriers: records every request, answers by a handler.

Each fake subclasses FakeServer and implements `handle(request) -> Reply`.
Tests can queue faults (`fail_next`) that are answered before the handler.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def field(self, name: str, default: str = "") -> str:
        """A form or query parameter (the first value)."""
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else default

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


class FakeServer:
    """Start with `with FakeX() as fake:`; `fake.url` is its base URL."""

    def __init__(self):
        self.requests: list[Request] = []
        self.faulted: list[tuple[Request, Reply]] = []  # requests answered with a queued fault, and the fault
        self._faults: deque[Reply] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k: v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = fake._answer(request)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                body, default_type = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.get("Content-Type", default_type))
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    if name != "Content-Type":
                        self.send_header(name, value)
                try:
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped waiting (its timeout), as it may with a real carrier

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval makes shutdown (every test's teardown) quick.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail_next(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, before the normal handler."""
        self._faults.extend(replies)

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._faults:
                fault = self._faults.popleft()
                self.faulted.append((request, fault))
                return fault
        return self.handle(request)

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError
