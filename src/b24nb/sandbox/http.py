"""The HTTP face of the sandbox: routes, request parsing, auth, faults, the leaky bucket.

Order of checks follows the real stack: infrastructure first (faults, then the per-portal
leaky bucket that answers 503 before PHP runs), then authentication, then the REST layer.
Request bodies may be JSON, form-encoded or a query string; JSON that will not parse is
treated as an empty body, as ``CRestUtil::getRequestData`` does.

A server faces whatever arrives, so input is bounded the way nginx and PHP bound it: a body
over ``max_body`` bytes is refused with 413 before it is read (nginx's
``client_max_body_size``), a bad ``Content-Length`` gets 400, a connection idle for
``idle_timeout`` seconds is closed (keep-alive and half-open connections hold no thread
forever), an HTTP/0.9 request line is refused at once instead of waiting for headers, JSON
nested deeper than ``json_decode``'s 512 levels reads as an empty body, and form variables
nested deeper than ``max_input_nesting_level`` are dropped. Every refusal is a Bitrix-style
JSON error (``{"error": …, "error_description": …}``) and at most one log line; a bug in the
emulator answers 500 the same way and logs one line, never a traceback on stderr.
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

from .answers import encode_json
from .api import ApiError, param
from .batch import parse_command
from .php import JSON_DEPTH, parse_str

if TYPE_CHECKING:
    from .backend import Backend
    from .faults import Fault

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
    #: bytes a request body may have (a batch of 50 commands is a few kB; nginx's default
    #: client_max_body_size is 1 MB, portals raise it for file uploads)
    max_body = 32 * 1024 * 1024
    #: seconds a connection may sit idle (between requests or inside one) before it is closed
    idle_timeout = 30.0

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
        log.error("sandbox: %s while serving a request: %s", type(exc).__name__, exc)

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


class _Answer(Exception):
    """Raised with an answer decided before or instead of the call (a fault, the bucket, 401)."""

    def __init__(self, status: int, body: Any, *, html: bool = False) -> None:
        super().__init__(status)
        self.status, self.body, self.html = status, body, html


def _too_many() -> dict[str, str]:
    """The leaky bucket's 503 body (a fresh dict: the answer is built per request)."""
    return {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}


class _Refused(Exception):
    """Input the server refuses before the REST layer: answered, then the connection closes."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (a deep value must not crash us)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


_HTTP_ERRORS = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                408: "REQUEST_TIMEOUT", 413: "REQUEST_ENTITY_TOO_LARGE",
                414: "REQUEST_URI_TOO_LONG", 431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
                501: "NOT_IMPLEMENTED", 505: "HTTP_VERSION_NOT_SUPPORTED"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as with nginx
    server: Server
    server_version = "nginx"
    sys_version = ""
    wbufsize = 1 << 16  # headers and body leave in one segment, flushed per request

    def setup(self) -> None:
        # a socket timeout: an idle keep-alive or half-open connection ends, freeing its thread
        self.timeout = self.server.idle_timeout
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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """http.server's own refusals (bad request line, headers) as Bitrix-style JSON."""
        self.close_connection = True
        log.info("sandbox: refused a request: HTTP %d %s", code, message or "")
        with contextlib.suppress(OSError):
            self._send(code, {"error": _HTTP_ERRORS.get(code, "BAD_REQUEST"),
                              "error_description": message or "Bad request"})

    def parse_request(self) -> bool:
        """Refuse an HTTP/0.9 request line at once (http.server would wait for headers)."""
        line = self.raw_requestline.decode("iso-8859-1", "replace").rstrip("\r\n")
        words = line.split()
        if len(words) == 2:
            self.requestline = line
            self.request_version = "HTTP/1.1"  # so the refusal has a status line and headers
            self.command = words[0]
            self.send_error(400, "HTTP/0.9 requests are not served")
            return False
        return super().parse_request()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    # ------------------------------------------------------------------ plumbing
    def _length(self) -> int:
        """The body's length from ``Content-Length``; refuse a bad or too large one unread."""
        values = self.headers.get_all("Content-Length") or []
        if not values:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raise _Refused(411, "LENGTH_REQUIRED", "Content-Length required")
            return 0
        text = str(values[0]).strip()
        if len(set(values)) > 1 or not text.isdigit():
            raise _Refused(400, "BAD_REQUEST", "Invalid Content-Length")
        length = int(text)
        if length > self.server.max_body:
            raise _Refused(413, "REQUEST_ENTITY_TOO_LARGE",
                           f"Request body larger than {self.server.max_body} bytes")
        return length

    def _read_params(self, query: str) -> dict[str, Any]:
        params: dict[str, Any] = parse_str(query) if query else {}
        length = self._length()
        raw = self.rfile.read(length) if length > 0 else b""
        if len(raw) < length:  # the client went away mid-body (or idled out)
            raise ConnectionResetError("body shorter than Content-Length")
        if not raw:
            return params if isinstance(params, dict) else {}
        ctype = (self.headers.get("Content-Type") or "").lower()
        body: Any
        if "json" in ctype or raw[:1] in (b"{", b"["):
            try:
                body = json.loads(raw)
                if _depth(body) > JSON_DEPTH:
                    body = {}  # json_decode's depth limit: null, read as an empty body
            except (ValueError, UnicodeDecodeError, RecursionError):
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
        data = body if html else encode_json(body)
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
        except _Refused as r:
            self.close_connection = True  # the unread body must not be read as a request
            log.info("sandbox: refused a request: HTTP %d %s", r.status, r.code)
            with contextlib.suppress(OSError):
                self._send(r.status, {"error": r.code, "error_description": r.description})
        except OSError:  # hung up, reset, or idle past the timeout mid-request
            self.close_connection = True
        except Exception as exc:  # a bug in the emulator: a Bitrix-style 500, one log line
            self.close_connection = True
            log.error("sandbox: %s while serving %s: %s", type(exc).__name__,
                      self.command, str(exc)[:200].replace(self.server.secret, "***"))
            with contextlib.suppress(OSError):
                self._send(500, {"error": "ERROR_CORE", "error_description": "Internal error"})

    def _route(self) -> None:
        path, _, query = self.path.partition("?")
        parts = [unquote(p) for p in path.split("/") if p]
        params = self._read_params(query)
        try:
            if parts[:2] == ["oauth", "token"]:
                status, body = self._token_endpoint(params)
            elif parts and parts[0] == "rest" and len(parts) in (2, 4):
                status, body = self._rest(parts, params)
            else:
                raise _Answer(404, {"error": "NOT_FOUND", "error_description": "Not found"})
        except _Answer as answer:
            self._send(answer.status, answer.body, html=answer.html)
            return
        self._send(status, body)

    def _token_endpoint(self, params: dict[str, Any]) -> tuple[int, Any]:
        """``/oauth/token/``: the OAuth server's answer, an error included, as it is."""
        backend = self.server.backend
        backend.stats.add("token_requests")
        try:
            return 200, backend.oauth.token_endpoint(params)
        except ApiError as err:
            return err.status, err.body()

    def _rest(self, parts: list[str], params: dict[str, Any]) -> tuple[int, Any]:
        """``/rest/[uid/secret/]method``: the checks in the real stack's order, then the call.

        Each step either passes or raises: ``_Answer`` for a refusal with a body (503, 500,
        401), ``_Reset`` for a dropped connection.
        """
        backend = self.server.backend
        backend.stats.add("http_requests")
        method = parts[-1].lower().removesuffix(".json")
        token = self._token(params) if len(parts) == 2 else None
        late = self._faults_before(method, params, token)  # 1. infrastructure trouble first
        self._bucket()  # 2. the per-portal leaky bucket (cloud infrastructure, before PHP)
        identity = self._identity(parts, token)  # 3. authentication
        for key in ("auth", "access_token"):
            params.pop(key, None)
        status, body, wait = backend.run(method, params, identity)  # 4. the REST layer
        backend.clock.sleep(wait)
        self._faults_after(late)  # 5. the call ran; its answer is delayed or lost
        return status, body

    def _token(self, params: dict[str, Any]) -> str | None:
        """The OAuth access token of a request: ``auth``/``access_token``, else the bearer."""
        token = param(params, "auth") or param(params, "access_token")
        bearer = self.headers.get("Authorization") or ""
        if not token and bearer.lower().startswith("bearer "):
            token = bearer[7:].strip()
        return str(token) if token else None

    def _faults_before(self, method: str, params: dict[str, Any], token: str | None
                       ) -> list[Fault]:
        """Act on the request's faults that strike before the call; return the later ones.

        A batch draws for itself and for every command in it, so a rule on
        ``crm.deal.list`` also hits a batch that lists deals.
        """
        backend = self.server.backend
        methods = [method]
        if method == "batch":
            cmd = param(params, "cmd")
            items = cmd.values() if isinstance(cmd, dict) else cmd if isinstance(cmd, list) else []
            methods += [parse_command(c)[0] for c in items]
        fired = backend.faults.draw_request(methods)
        for rule in fired:
            if rule.after:
                continue
            backend.stats.add("faults_injected")
            if rule.kind == "reset":
                raise _Reset
            if rule.kind == "slow":
                backend.clock.sleep(rule.delay)
            elif rule.kind == "500":
                raise _Answer(500, _HTML_500, html=True)
            elif rule.kind == "503":
                backend.stats.add("refused_503")
                raise _Answer(503, _too_many())
            elif rule.kind == "expired_token" and token:
                backend.oauth.expire(token)
        return [rule for rule in fired if rule.after]

    def _bucket(self) -> None:
        """Refuse with 503 when limits are on and the leaky bucket is full."""
        backend = self.server.backend
        if backend.limits and not backend.bucket.take():
            backend.stats.add("refused_503")
            raise _Answer(503, _too_many())

    def _identity(self, parts: list[str], token: str | None) -> str:
        """Who calls: ``hook:<uid>`` for a webhook path, the token's user for OAuth; or 401."""
        try:
            if len(parts) == 4:
                uid, secret = parts[1], parts[2]
                if uid != self.server.user_id or not secrets.compare_digest(
                        secret.encode(), self.server.secret.encode()):
                    raise ApiError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
                return "hook:" + uid
            if token:
                return self.server.backend.oauth.check(token)
            raise ApiError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        except ApiError as err:
            raise _Answer(err.status, err.body()) from None

    def _faults_after(self, late: list[Fault]) -> None:
        """The faults that strike once the call ran: its answer is lost, cut or delayed."""
        backend = self.server.backend
        for rule in late:
            backend.stats.add("faults_injected")
            if rule.kind == "reset":
                raise _Reset
            if rule.kind == "500":
                raise _Answer(500, _HTML_500, html=True)
            backend.clock.sleep(rule.delay)
