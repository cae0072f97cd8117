"""Fail fast: ``connect()``'s check (one cheap request, one short error naming the cause),
and the warning ``bind()`` gives when nothing is selected.

Why: a wrong webhook URL used to be accepted silently and fail one cell later, under a
64-line traceback of library frames. Now ``connect()`` asks the portal once (a ``batch`` of
``profile`` and ``scope``: one HTTP request, no scope needed for either) and turns whatever
went wrong into a :class:`ConnectError` whose text says what to fix: host not found, bad
secret, missing scope, plain HTTP to a remote host. Never the secret (the messages are built
from our own words and the host, and pass through :func:`b24nb.redact.redact`).

In IPython/Jupyter a :class:`ConnectError` shows as one line: it defines
``_render_traceback_``, which IPython calls instead of printing the stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from b24nb.errors import (
    AccessDeniedError,
    AuthError,
    B24nbError,
    HostNotFoundError,
    NetworkError,
    PortalError,
    ValidationError,
)
from b24nb.redact import redact

__all__ = ["REQUIRED_SCOPES", "BadURLError", "ConnectError", "NothingSelectedWarning",
           "check_portal", "refuse_url"]

#: what the reconciliation needs: deals and order bindings (crm), orders (sale)
REQUIRED_SCOPES: tuple[str, ...] = ("crm", "sale")


class NothingSelectedWarning(UserWarning):
    """``bind()`` was called with no pair selected: nothing is sent, and it says so."""


class ConnectError(B24nbError):
    """``connect()`` could not use the portal; ``cause`` says why in one word.

    ``cause`` is one of ``host_not_found``, ``unreachable``, ``bad_secret``,
    ``missing_scope``, ``plain_http``, ``bad_url``, ``refused``.
    """

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(redact(message))
        self.cause = cause

    def __reduce__(self):  # picklable with its cause
        return (_rebuild, (str(self), self.cause))

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of the stack: one line, the cause and the fix."""
        return [f"{type(self).__name__}: {self}"]


class BadURLError(ConnectError, ValidationError):
    """The URL itself is wrong (plain http to a remote host, not a webhook URL)."""

    def __init__(self, message: str, *, cause: str) -> None:
        ConnectError.__init__(self, message, cause=cause)
        self.problems = []


def _rebuild(message: str, cause: str) -> ConnectError:
    return ConnectError(message, cause=cause)


def refuse_url(exc: ValidationError) -> BadURLError:
    """The transport's refusal of a URL as a one-line :class:`BadURLError`."""
    text = str(exc)
    cause = "plain_http" if "plain http" in text else "bad_url"
    return BadURLError(f"cannot connect: {text}", cause=cause)


def _scopes(result: Any) -> set[str] | None:
    if isinstance(result, list | tuple):
        return {str(s).lower() for s in result}
    if isinstance(result, str):
        return {s.strip().lower() for s in result.split(",") if s.strip()}
    return None


def check_portal(portal: Any, *, scopes: Iterable[str] = REQUIRED_SCOPES) -> None:
    """Ask the portal once; raise :class:`ConnectError` unless the webhook works for us.

    Parameters
    ----------
    portal
        A :class:`b24nb.Portal` not used yet.
    scopes
        Scopes the webhook must have (default: ``crm`` and ``sale``).
    """
    host = redact(str(getattr(portal, "host", "") or "the portal"))
    try:
        answers = portal.batch({"profile": ("profile", {}), "scope": ("scope", {})})
    except NetworkError as exc:
        code = str(getattr(exc, "code", "") or "")
        if isinstance(exc, HostNotFoundError):
            raise ConnectError(f"host not found: {host} does not resolve (a typo in the "
                               "portal's address, or no network)", cause="host_not_found"
                               ) from None
        raise ConnectError(f"cannot reach {host} ({code or type(exc).__name__}): check the "
                           "address and the network", cause="unreachable") from None
    except AuthError as exc:
        raise ConnectError(f"bad webhook secret ({exc.code}): {host} refused the "
                           "credentials; copy the webhook URL again from Bitrix24 → "
                           "Developer resources → Incoming webhook", cause="bad_secret"
                           ) from None
    except PortalError as exc:
        raise ConnectError(f"{host} refused the check ({exc.code}): is this a Bitrix24 "
                           "webhook URL?", cause="refused") from None
    failed = [r for r in answers.values() if not r.ok]
    for r in failed:
        if isinstance(r.error, AuthError | AccessDeniedError):
            code = getattr(r.error, "code", "")
            cause = "missing_scope" if "SCOPE" in str(code).upper() else "bad_secret"
            raise ConnectError(f"{host} refused {r.method} ({code})", cause=cause) from None
    granted = _scopes(answers["scope"].result) if answers["scope"].ok else None
    missing = [s for s in scopes if granted is not None and s not in granted]
    if missing:
        raise ConnectError(
            f"missing scope: the webhook on {host} lacks {', '.join(missing)} (it has "
            f"{', '.join(sorted(granted or ())) or 'none'}); edit the webhook in Bitrix24 and "
            f"tick {', '.join(missing)}", cause="missing_scope")
