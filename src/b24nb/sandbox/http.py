"""The HTTP face of the sandbox: routes, request parsing, auth, faults, the leaky bucket.

Order of checks follows the real stack: infrastructure first (faults, then the per-portal
leaky bucket that answers 503 before PHP runs), then authentication, then the REST layer.
Request bodies may be JSON, form-encoded or a query string; JSON that will not parse is
treated as an empty body, as ``CRestUtil::getRequestData`` does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .api import ApiError, param
from .batch import parse_command
from .php import parse_str

if TYPE_CHECKING:
    from .backend import Backend

__all__ = ["Server"]

log = logging.getLogger(__name__)

_HTML_500 = (b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
             b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error"
             b" and was unable to complete your request.</p><hr><address>nginx</address>"
             b"</body></html>")


class Server(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that knows its backend and secret."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, port: int, backend: Backend, secret: str, user_id: int = 1) -> None:
        self.backend = backend
        self.secret = secret
        self.user_id = str(user_id)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed request instead of printing a traceback to stderr.

        A client that hangs up, and the connections ``close_connections`` cuts on stop, end
        in an ``OSError`` here: normal for a server, so they are not reported at all.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        log.exception("sandbox: error while serving a request")

    def close_connections(self) -> None:
        """Cut every kept-alive connection, so a stopped sandbox really stops answering."""
        with self.connections_lock:
            conns = list(self.open_connections)
            self.open_connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Reset(Exception):
    """Raised to drop the connection with a TCP reset (the "reset" fault)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as with nginx
    server: Server
    server_version = "nginx"
    sys_version = ""
    wbufsize = 1 << 16  # headers and body leave in one segment, flushed per request

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # Never log the path: it carries the webhook secret.
        log.debug("sandbox %s", args[1] if len(args) > 1 else "")

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    # ------------------------------------------------------------------ plumbing
    def _read_params(self, query: str) -> dict[str, Any]:
        params: dict[str, Any] = parse_str(query) if query else {}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return params if isinstance(params, dict) else {}
        ctype = (self.headers.get("Content-Type") or "").lower()
        body: Any
        if "json" in ctype or raw[:1] in (b"{", b"["):
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = {}  # malformed JSON: treated as an empty body, as the server does
        else:
            body = parse_str(raw.decode("utf-8", "replace"))
        if isinstance(body, list):
            body = {str(i): v for i, v in enumerate(body)}
        if not isinstance(params, dict):
            params = {}
        if isinstance(body, dict):
            params.update(body)  # POST overrides GET
        return params

    def _send(self, status: int, body: Any, *, html: bool = False) -> None:
        data = body if html else json.dumps(body, ensure_ascii=False,
                                            separators=(",", ":")).encode()
        self.send_response(status)
        ctype = "text/html; charset=utf-8" if html else "application/json; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.connection.close()

    # ------------------------------------------------------------------ routing
    def _serve(self) -> None:
        try:
            self._route()
        except _Reset:
            self._reset()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug in the emulator: answer like PHP's fatal error page
            log.exception("sandbox handler crashed")
            self._send(500, {"error": "ERROR_CORE", "error_description": "Internal error"})

    def _route(self) -> None:
        backend = self.server.backend
        path, _, query = self.path.partition("?")
        parts = [unquote(p) for p in path.split("/") if p]
        params = self._read_params(query)
        if parts[:2] == ["oauth", "token"]:
            backend.stats.add("token_requests")
            try:
                self._send(200, backend.oauth.token_endpoint(params))
            except ApiError as err:
                self._send(err.status, err.body())
            return
        if not parts or parts[0] != "rest" or len(parts) not in (2, 4):
            self._send(404, {"error": "NOT_FOUND", "error_description": "Not found"})
            return
        backend.stats.add("http_requests")
        method = parts[-1].lower()
        if method.endswith(".json"):
            method = method[:-5]
        token = None
        if len(parts) == 2:
            token = param(params, "auth") or param(params, "access_token")
            bearer = self.headers.get("Authorization") or ""
            if not token and bearer.lower().startswith("bearer "):
                token = bearer[7:].strip()
            token = str(token) if token else None

        # 1. faults: infrastructure trouble comes before anything else
        methods = [method]
        if method == "batch":
            cmd = param(params, "cmd")
            items = cmd.values() if isinstance(cmd, dict) else cmd if isinstance(cmd, list) else []
            methods += [parse_command(c)[0] for c in items]
        fired = backend.faults.draw_request(methods)
        late = [rule for rule in fired if rule.after]
        for rule in fired:
            if rule.after:
                continue
            backend.stats.add("faults_injected")
            if rule.kind == "reset":
                raise _Reset
            if rule.kind == "slow":
                backend.clock.sleep(rule.delay)
            elif rule.kind == "500":
                self._send(500, _HTML_500, html=True)
                return
            elif rule.kind == "503":
                backend.stats.add("refused_503")
                self._send(503, {"error": "QUERY_LIMIT_EXCEEDED",
                                 "error_description": "Too many requests"})
                return
            elif rule.kind == "expired_token" and token:
                backend.oauth.expire(token)

        # 2. the per-portal leaky bucket (cloud infrastructure, before PHP)
        if backend.limits and not backend.bucket.take():
            backend.stats.add("refused_503")
            self._send(503, {"error": "QUERY_LIMIT_EXCEEDED",
                             "error_description": "Too many requests"})
            return

        # 3. authentication
        try:
            if len(parts) == 4:
                uid, secret = parts[1], parts[2]
                if uid != self.server.user_id or not secrets.compare_digest(
                        secret.encode(), self.server.secret.encode()):
                    raise ApiError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
                identity = "hook:" + uid
            elif token:
                identity = backend.oauth.check(token)
            else:
                raise ApiError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        except ApiError as err:
            self._send(err.status, err.body())
            return
        for key in ("auth", "access_token"):
            params.pop(key, None)

        # 4. the REST layer
        status, body, wait = backend.run(method, params, identity)
        backend.clock.sleep(wait)
        # 5. faults after the fact: the call ran, its answer is delayed or lost
        for rule in late:
            backend.stats.add("faults_injected")
            if rule.kind == "reset":
                raise _Reset
            if rule.kind == "500":
                self._send(500, _HTML_500, html=True)
                return
            backend.clock.sleep(rule.delay)
        self._send(status, body)
