"""A loopback HTTP server for fake carriers: records every request, answers by a handler.

Each fake subclasses FakeServer and implements `handle(request) -> Reply`.
Tests can queue faults (`fail_next`) that are answered before the handler.
It speaks HTTP/1.1 with keep-alive, as carriers do, and counts the TCP
connections it accepted (`connections`), so a test can see whether a client
reuses them. `tls=(cert_file, key_file)` serves HTTPS instead.
"""

import json
import socket
import ssl
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

    def __init__(self, tls: tuple[str, str] | None = None):
        self.requests: list[Request] = []
        self.faulted: list[tuple[Request, Reply]] = []  # requests answered with a queued fault, and the fault
        self._faults: deque[Reply] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every reply has a Content-Length
            # Headers and body are two writes: without TCP_NODELAY the body waits for the client's delayed ACK.
            disable_nagle_algorithm = True

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
                    self.close_connection = True  # the client stopped waiting (its timeout), as with a real carrier

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self._httpd = _Server(("127.0.0.1", 0), Handler, tls=tls)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval makes shutdown (every test's teardown) quick.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._httpd.accepted

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


class _Server(ThreadingHTTPServer):
    """Counts and remembers accepted connections (closed on exit: keep-alive ones would wait forever)."""

    daemon_threads = True

    def __init__(self, address, handler, *, tls: tuple[str, str] | None):
        super().__init__(address, handler)
        self.accepted = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._tls = None
        if tls:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)

    def get_request(self):
        conn, address = super().get_request()
        with self._lock:
            self.accepted += 1
            self._open.add(conn)
        return conn, address

    def finish_request(self, request, client_address):
        """In the connection's own thread: the TLS handshake, then HTTP."""
        if self._tls is None:
            return super().finish_request(request, client_address)
        try:
            wrapped = self._tls.wrap_socket(request, server_side=True)  # takes over the socket
        except (ssl.SSLError, OSError):
            return  # a client that refused our certificate
        with self._lock:
            self._open.discard(request)
            self._open.add(wrapped)
        try:
            super().finish_request(wrapped, client_address)
        finally:
            self.shutdown_request(wrapped)

    def shutdown_request(self, request):
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._lock:
            still_open, self._open = self._open, set()
        for conn in still_open:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
