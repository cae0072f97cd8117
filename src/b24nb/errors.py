"""One exception tree for everything b24nb raises.

Why one tree keyed by the portal's code: the portal reports the same failure with a string
code in one place and a number in another (``"201650000001"`` vs ``201650000001``, ``"0"`` vs
``0``), so every comparison goes through :func:`str`. A caller can catch a whole family
(:class:`LimitError`, :class:`AuthError`) or one code (:class:`DuplicateBindingError`).

Nothing in this module ever stores a URL, request parameters, a token or a raw response body:
messages are built only from the code, the portal's description, the HTTP status and the
method name, and the description itself passes through :func:`b24nb.redact.redact`.
"""

from __future__ import annotations

from typing import Any

from b24nb.redact import redact

__all__ = [
    "AccessDeniedError",
    "AuthError",
    "B24nbError",
    "BatchLengthError",
    "DuplicateBindingError",
    "ExpiredTokenError",
    "FieldError",
    "HostNotFoundError",
    "LimitError",
    "ListIncompleteError",
    "MethodNotFoundError",
    "NetworkError",
    "NotFoundError",
    "NotRunError",
    "OperationTimeLimitError",
    "OrderNotFoundError",
    "OutcomeUnknownError",
    "OverloadError",
    "PortalError",
    "QueryLimitError",
    "RelationNotFoundError",
    "RequiredFieldsError",
    "ServerError",
    "ValidationError",
    "error_from_response",
    "retry_cause",
]


class B24nbError(Exception):
    """Base of every exception b24nb raises on purpose."""


class ValidationError(B24nbError, ValueError):
    """Input was rejected before anything was sent.

    ``problems`` lists every offending item (row label or field name with the reason), so one
    error tells the whole story instead of the first problem only.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            shown = "\n".join(f"  - {p}" for p in self.problems[:50])
            more = len(self.problems) - 50
            tail = f"\n  … and {more} more" if more > 0 else ""
            message = f"{message}\n{shown}{tail}"
        super().__init__(message)


class FieldError(ValidationError, KeyError):
    """An unknown field name in ``select``/``filter``/``order``.

    The portal silently drops unknown keys; we refuse them and name the closest known ones.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PortalError(B24nbError):
    """The portal (or the road to it) answered with an error.

    Attributes
    ----------
    code : str
        The portal's ``error`` value as a string (``""`` for legacy CRM errors).
    description : str
        The portal's ``error_description``, with anything secret-looking removed.
    status : int | None
        The HTTP status, when there was an HTTP answer.
    method : str | None
        The REST method that failed (for a batch command, that command's method).
    """

    transient = False  # safe to resend a read that failed this way

    def __init__(
        self,
        code: Any = "",
        description: str = "",
        *,
        status: int | None = None,
        method: str | None = None,
    ) -> None:
        # the code is redacted like the description: a proxy that echoes the request path
        # as its "error" would otherwise put the webhook secret into str(exc)
        self.code = "" if code is None else redact(str(code))
        self.description = redact(str(description or ""))
        self.status = status
        self.method = method
        super().__init__(self.code)

    def __str__(self) -> str:
        where = f" in {self.method}" if self.method else ""
        http = f", HTTP {self.status}" if self.status is not None else ""
        code = self.code if self.code else "(no code)"
        desc = f": {self.description}" if self.description else ""
        return f"{code}{desc} [{where.strip() or 'request'}{http}]"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, description={self.description!r}, "
            f"status={self.status!r}, method={self.method!r})"
        )

    def __reduce__(self):  # picklable across threads/processes without losing fields
        # the instance dict carries what subclasses add (``sent``, ``reset_at``, a per-error
        # ``transient``); it never holds a URL, parameters or a response body
        return (
            _rebuild,
            (type(self), self.code, self.description, self.status, self.method),
            dict(self.__dict__),
        )


def _rebuild(cls, code, description, status, method):  # type: ignore[no-untyped-def]
    err = cls.__new__(cls)
    PortalError.__init__(err, code, description, status=status, method=method)
    return err


class NetworkError(PortalError):
    """No usable HTTP answer: connection refused or reset, timeout, non-JSON body."""

    transient = True

    def __init__(
        self,
        code: Any = "NETWORK_ERROR",
        description: str = "",
        *,
        status: int | None = None,
        method: str | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(code, description, status=status, method=method)
        #: False only when the request surely never reached the server (connection refused).
        self.sent = sent


class HostNotFoundError(NetworkError):
    """The portal's host name does not resolve: usually a typo in the URL, sometimes DNS."""


class OutcomeUnknownError(NetworkError):
    """A write was sent but its answer was lost; it may or may not have been applied.

    The client never resends such a write on its own: the caller settles it by reading back
    (the bind engine does this with ``crm.orderentity.list`` against its journal).
    """

    transient = False


class ServerError(PortalError):
    """HTTP 5xx or an internal error code; transient for reads."""

    transient = True


class AuthError(PortalError):
    """Credentials were refused: wrong webhook secret, unknown token, missing scope."""


class ExpiredTokenError(AuthError):
    """OAuth access token expired; the client refreshes once and retries."""


class AccessDeniedError(PortalError):
    """The user behind the webhook/token lacks the right (``200040300010``/``…20``)."""


class MethodNotFoundError(PortalError):
    """``ERROR_METHOD_NOT_FOUND``: the method does not exist (or is not published)."""


class NotFoundError(PortalError):
    """``NOT_FOUND``: the thing asked for is not there (e.g. no smart invoices on a portal)."""


class LimitError(PortalError):
    """The portal refused the request because of a limit; it surely did not run."""

    transient = True


class QueryLimitError(LimitError):
    """HTTP 503 ``QUERY_LIMIT_EXCEEDED``: the portal's request-rate bucket overflowed."""


class OverloadError(LimitError):
    """HTTP 503 ``OVERLOAD_LIMIT``: a manual block by Bitrix24 support; not retried."""

    transient = False


class OperationTimeLimitError(LimitError):
    """HTTP 429 ``OPERATION_TIME_LIMIT``: the method's 10-minute operating budget is spent.

    ``reset_at`` (Unix seconds) is filled in by the client from the last successful answer's
    ``time.operating_reset_at`` when it knows it.
    """

    reset_at: float | None = None


class BatchLengthError(PortalError):
    """``ERROR_BATCH_LENGTH_EXCEEDED``: a command past the 50th of a batch was not run."""


class NotRunError(BatchLengthError):
    """``NOT_RUN`` (b24nb's own code): a batch command came back with no result.

    The batch halted at an earlier error, or the portal dropped the command. For a write this
    does not prove it never ran: callers read back before sending it again.
    """


class RequiredFieldsError(PortalError):
    """Code ``0`` with "Required fields: …" (or another order-save error)."""


class DuplicateBindingError(PortalError):
    """``201650000001``: exactly this order↔owner binding exists already (a success for bind)."""


class OrderNotFoundError(PortalError):
    """``200540400001`` (or ``201240400001`` from ``sale.order.get``): no such order."""


class RelationNotFoundError(PortalError):
    """``201640400004``: deleteByFilter found no such binding."""


class ListIncompleteError(B24nbError):
    """A list stopped part-way; ``rows`` holds what was fetched before the failure.

    Raised instead of returning a short list, so a partial export can never pass for a full
    one. ``__cause__`` is the :class:`PortalError` that stopped it.
    """

    def __init__(self, method: str, rows: list[dict[str, Any]], cause: PortalError) -> None:
        self.method = method
        self.rows = rows
        self.error = cause
        super().__init__(
            f"{method}: listing stopped after {len(rows)} rows because of {cause}; "
            "the rows fetched so far are in .rows"
        )

    def __reduce__(self):  # the default would call __init__ with the message alone
        return (type(self), (self.method, self.rows, self.error))


_BY_CODE: dict[str, type[PortalError]] = {
    "QUERY_LIMIT_EXCEEDED": QueryLimitError,
    "OVERLOAD_LIMIT": OverloadError,
    "OPERATION_TIME_LIMIT": OperationTimeLimitError,
    "EXPIRED_TOKEN": ExpiredTokenError,
    "INVALID_TOKEN": AuthError,
    "INVALID_CREDENTIALS": AuthError,
    "NO_AUTH_FOUND": AuthError,
    "INSUFFICIENT_SCOPE": AuthError,
    "INVALID_REQUEST": AuthError,
    "INVALID_GRANT": AuthError,
    "INVALID_CLIENT": AuthError,
    "AUTHORIZATION_ERROR": AuthError,
    "APPLICATION_NOT_FOUND": AuthError,
    "PAYMENT_REQUIRED": AuthError,
    "USER_ACCESS_ERROR": AccessDeniedError,
    "ACCESS_DENIED": AccessDeniedError,
    "200040300010": AccessDeniedError,
    "200040300020": AccessDeniedError,
    "ERROR_METHOD_NOT_FOUND": MethodNotFoundError,
    # also what a portal answers for a REST path it does not know; callers that read it as
    # "this kind of thing is absent" (served_invoices) ask a known-good portal first
    "NOT_FOUND": NotFoundError,
    "ERROR_BATCH_LENGTH_EXCEEDED": BatchLengthError,
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
    "0": RequiredFieldsError,
    "201650000001": DuplicateBindingError,
    "200540400001": OrderNotFoundError,
    "201240400001": OrderNotFoundError,  # sale.order.get's documented "Order not found"
    "201640400004": RelationNotFoundError,
}


def error_from_response(
    code: Any,
    description: str = "",
    *,
    status: int | None = None,
    method: str | None = None,
) -> PortalError:
    """Build the most specific :class:`PortalError` for a portal error answer.

    The code decides first (compared as an upper-cased string); then the HTTP status
    (5xx → :class:`ServerError`); otherwise a plain :class:`PortalError`.
    """
    key = "" if code is None else str(code).upper()
    cls = _BY_CODE.get(key)
    if cls is None:
        if status is not None and status >= 500:
            cls = ServerError
        elif status == 401:
            cls = AuthError
        else:
            cls = PortalError
    return cls(code, description, status=status, method=method)


def retry_cause(error: BaseException) -> str:
    """The retry budget a failure draws on: ``"limit"``, ``"network"`` or ``"server"``.

    Why separate budgets: a run of 503 refusals (the portal is busy, nothing ran) says nothing
    about a flaky server; if both drew on one counter, five 503s and two 500s would give up
    a read that each cause alone would have finished.
    """
    if isinstance(error, LimitError) or getattr(error, "status", None) in (429, 503):
        return "limit"
    if isinstance(error, NetworkError):
        return "network"
    return "server"
