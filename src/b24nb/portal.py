"""The portal client: ``connect()``, and ``Portal.call`` / ``batch`` / ``list``.

Why this shape: every verb of b24nb goes through one :class:`Portal`, and every request of a
Portal goes through one loop (:meth:`Portal._request`) that books the rate limit before
sending, reads the operating-time gauges from the answer, refreshes an expired OAuth token
once, and asks :func:`b24nb.limits.retry_delay` whether a failure is worth another try. A
request holding a write is resent only when it surely did not run (503, 429, connection
refused); when its answer was lost it raises :class:`~b24nb.errors.OutcomeUnknownError` and
the caller reads back.

The API is synchronous and uses no event loop, so it behaves the same in a script and inside
Jupyter's running loop (fast_bitrix24 returns an ``asyncio.Task`` there). ``list`` may walk a
few ID ranges at once on worker threads, all sharing the one rate limiter.

Example
-------
>>> portal = b24nb.connect()          # doctest: +SKIP  (sandbox when nothing is configured)
>>> deals = list(portal.list("crm.deal.list", {"select": ["ID", "TITLE"]}))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from b24nb.auth import OAuth, Webhook, as_credentials, credentials_from_env
from b24nb.errors import (
    ExpiredTokenError,
    NetworkError,
    NotRunError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    PortalError,
    QueryLimitError,
    ValidationError,
    retry_cause,
)
from b24nb.limits import Clock, Limiter, ScaledClock, surely_not_run
from b24nb.listing import SharedProbe, iter_list
from b24nb.redact import canonical_host, redact
from b24nb.stats import PortalStats
from b24nb.transport import Transport
from b24nb.wire import (
    CommandResult,
    Response,
    command_error,
    encode_command,
    int_or_none,
    is_write,
    normalize_section,
    parse_answer,
)

__all__ = ["BATCH_MAX", "CommandResult", "Portal", "PortalStats", "Response", "connect"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

BATCH_MAX = 50  # the portal runs at most 50 commands of a batch; the rest fail per command


class Portal:
    """A connection to one Bitrix24 portal (webhook or OAuth).

    Parameters
    ----------
    credentials : Webhook | OAuth | str | Mapping
        A webhook URL string is turned into :class:`~b24nb.auth.Webhook`, a mapping of OAuth
        settings into :class:`~b24nb.auth.OAuth`.
    timeout : float
        Seconds to wait for one answer (the portal allows a request 60 s of work).
    plan : {"standard", "enterprise"}
        Sets the request bucket to 50/2 s⁻¹ or 250/5 s⁻¹.
    progress : bool
        Default for :meth:`list`'s progress bar.
    clock : Clock, optional
        Injected time source (tests use a scaled one to match a scaled sandbox).
    operating_limit : float
        The portal's per-method operating budget (480 s per 10 minutes on the cloud); the
        client waits for a method's reset before it would cross it.
    max_workers : int
        The most batches a long ``list`` keeps in flight at once (one thread each, disjoint ID
        ranges). It is a cap, not a rate: every request still books the one shared bucket
        before it is sent, so when the burst is spent the walk runs at the drain rate and
        never trips a 503 by itself. 48 is the standard plan's burst less the limiter's
        margin: 100,000 deals (40 range batches) go out in one round instead of five, which
        is what makes the walk bound by the portal rather than by us. Loaders reading
        heavy per-record methods use at most 4 of them.
    """

    def __init__(
        self,
        credentials: Webhook | OAuth | str | Mapping[str, Any],
        *,
        timeout: float = 30.0,
        plan: str = "standard",
        progress: bool = True,
        clock: Clock | None = None,
        operating_limit: float = 480.0,
        max_workers: int = 48,
    ) -> None:
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValidationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._auth = as_credentials(credentials)
        self._limiter = Limiter(plan=plan, clock=clock, operating_limit=operating_limit)
        self._transport = Transport(timeout=timeout, pool_size=max(8, int(max_workers) + 4))
        self.plan = plan
        self.progress = progress
        self.max_workers = max(1, int(max_workers))
        self.stats = PortalStats(self._limiter)
        self.sandbox: Any = None
        self._finalizer: weakref.finalize | None = None

    # -- plumbing -------------------------------------------------------------------------

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    @property
    def host(self) -> str:
        return self._auth.host

    @property
    def identity(self) -> str:
        """``scheme://host#user<id>``: which portal and user, for the journal; never a secret.

        The host is canonical (lower-cased, default port and trailing dot dropped), so
        ``X.bitrix24.ru:443`` and ``x.bitrix24.ru`` are one portal. The user id comes from the
        webhook path, else from ``profile`` (asked once per Portal).
        """
        if getattr(self, "_identity", None) is None:
            uid = getattr(self._auth, "user_id", None)
            if uid is None:
                profile = self.call("profile")
                uid = profile.get("ID") if isinstance(profile, Mapping) else None
            self._identity = redact(f"{canonical_host(self.host)}#user{uid}")
        return self._identity

    @identity.setter
    def identity(self, value: str) -> None:
        # another name for the same user (tests act as a second webhook of one portal)
        self._identity = redact(value)

    def close(self) -> None:
        """Release the HTTP session (and stop the sandbox that ``connect()`` started)."""
        self._transport.close()
        self.sandbox = None
        if self._finalizer is not None:
            self._finalizer()  # runs the sandbox's __exit__ exactly once

    def __enter__(self) -> Portal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = type(self._auth).__name__.lower()
        extra = ", sandbox" if self.sandbox is not None else ""
        return f"<Portal {self._auth.host} ({kind}, {self.plan}{extra})>"

    def _request(self, method: str, payload: dict[str, Any], limit_methods: list[str],
                 writes: bool) -> dict[str, Any]:
        """Send one HTTP request with limits, one token refresh and safe retries.

        Retries count per cause (:func:`~b24nb.errors.retry_cause`): 503 refusals and 500s
        each have their own budget, so five 503s and two 500s do not give up a read.
        """
        attempts: dict[str, int] = {}
        refreshed = False
        while True:
            self._limiter.before_send(limit_methods)
            signed, token = self._auth.sign(payload)
            try:
                self.stats._add("http_requests")
                answer = self._transport.post_json(self._auth.endpoint(method), signed,
                                                   method=method)
                body = parse_answer(answer.status, answer.body, method)
            except ExpiredTokenError:
                if token is not None and getattr(self._auth, "access_token", token) != token:
                    # another thread refreshed while this request was in flight (many share
                    # one token): resend with the new one, without spending our refresh
                    continue
                if refreshed or not self._auth.refresh(self._transport, token):
                    raise
                refreshed = True
                self.stats._add("refreshes")
                continue
            except PortalError as err:
                self._limiter.on_error(err, limit_methods)
                if writes and not surely_not_run(err):
                    if isinstance(err, NetworkError) or (err.status or 0) >= 500:
                        raise OutcomeUnknownError(
                            err.code, "the answer to a write was lost; read back before "
                            f"resending ({err.description})", status=err.status, method=method,
                        ) from None
                    raise
                cause = retry_cause(err)
                if not self._limiter.backoff(err, attempts.get(cause, 0)):
                    raise
                attempts[cause] = attempts.get(cause, 0) + 1
                self.stats._add("retries")
                continue
            if method.lower() != "batch":  # a batch's commands are read in _request_batch
                self._limiter.observe(method, body.get("time"))
            return body

    # -- public API -----------------------------------------------------------------------

    def call_full(self, method: str, params: Mapping[str, Any] | None = None) -> Response:
        """Call one method; return its whole envelope (result, total, next, time)."""
        if not method or method.lower() == "batch":
            raise ValidationError("use Portal.batch() for batches")
        body = self._request(method, dict(params or {}), [method], is_write(method))
        return Response(
            result=body.get("result"),
            total=int_or_none(body.get("total")),
            next=int_or_none(body.get("next")),
            time=dict(body.get("time") or {}),
        )

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one method and return its ``result``; a portal error raises a PortalError."""
        return self.call_full(method, params).result

    def batch(
        self,
        commands: Mapping[str, tuple[str, Mapping[str, Any]]]
        | Sequence[tuple[str, Mapping[str, Any]]],
        *,
        halt: bool = False,
    ) -> dict[str, CommandResult]:
        """Run commands through ``batch``; return each one's result or error, in order.

        More than 50 commands are split over several requests (``$result`` references then
        work only within a chunk of 50). Per-command errors are returned, not raised; a
        failure of the whole request raises. With ``halt`` the portal stops at the first
        failing command, and so do the later chunks.
        """
        items = (list(commands.items()) if isinstance(commands, Mapping)
                 else [(str(i), c) for i, c in enumerate(commands)])
        out: dict[str, CommandResult] = {}
        for start in range(0, len(items), BATCH_MAX):
            chunk = items[start:start + BATCH_MAX]
            if halt and any(not r.ok for r in out.values()):
                # halted in an earlier chunk: these never ran, and say so (a missing key
                # would read as a KeyError, or worse, go unnoticed)
                for key, (m, _) in chunk:
                    out[str(key)] = CommandResult(str(key), m, False, None, NotRunError(
                        "NOT_RUN", "not run: the batch halted at an earlier error", method=m))
                continue
            out.update(self._batch_chunk(chunk, halt))
        return out

    def _batch_chunk(self, chunk: list[tuple[str, tuple[str, Mapping[str, Any]]]],
                     halt: bool) -> dict[str, CommandResult]:
        keys = [str(k) for k, _ in chunk]
        methods = {str(k): m for k, (m, _) in chunk}
        if len(set(keys)) != len(keys):
            raise ValidationError("batch command keys must be unique")
        cmd = {str(k): encode_command(m, p) for k, (m, p) in chunk}
        writes = any(is_write(m) for m in methods.values())
        payload = {"halt": 1 if halt else 0, "cmd": cmd}
        body = self._request_batch(payload, methods, writes)
        inner = body.get("result") if isinstance(body.get("result"), Mapping) else {}
        results = normalize_section(inner.get("result"))
        errors = normalize_section(inner.get("result_error"))
        times = normalize_section(inner.get("result_time"))
        totals = normalize_section(inner.get("result_total"))
        nexts = normalize_section(inner.get("result_next"))
        out: dict[str, CommandResult] = {}
        for key in keys:
            m = methods[key]
            if key in errors:
                err = command_error(errors[key], m)
                out[key] = CommandResult(key, m, False, None, err, dict(times.get(key) or {}))
            elif key in results:
                out[key] = CommandResult(
                    key, m, True, results[key], None, dict(times.get(key) or {}),
                    int_or_none(totals.get(key)), int_or_none(nexts.get(key)),
                )
            else:  # halted before it ran, or dropped by the portal
                err = NotRunError("NOT_RUN", "the command did not run" if halt
                                  else "no result for command", method=m)
                out[key] = CommandResult(key, m, False, None, err)
        return out

    def _request_batch(self, payload: dict[str, Any], methods: dict[str, str],
                       writes: bool) -> dict[str, Any]:
        body = self._request("batch", payload, sorted(set(methods.values())), writes)
        inner = body.get("result")
        if isinstance(inner, Mapping):
            for key, t in normalize_section(inner.get("result_time")).items():
                if key in methods:
                    self._limiter.observe(methods[key], t)
            # a nested 429 blocks that method until its reset, like a top-level one
            for key, e in normalize_section(inner.get("result_error")).items():
                if key in methods:
                    err = command_error(e, methods[key])
                    if isinstance(err, (OperationTimeLimitError, QueryLimitError)):
                        self._limiter.on_error(err, [methods[key]])
        return body

    def list(self, method: str, params: Mapping[str, Any] | None = None, *,
             progress: bool | None = None, spare: int = 2,
             shared: SharedProbe | None = None) -> Iterator[dict[str, Any]]:
        """Yield every record of a list method, by the fastest correct strategy.

        Methods with an ID (``crm.deal.list``, ``crm.contact.list``, ``sale.order.list``,
        ``crm.item.list`` …) are walked by ID with ``start=-1``, 50 pages chained in one batch
        (2,500 rows per request), several disjoint ID ranges at once; others are read by
        offset pages, 50 per batch. Any failure raises
        :class:`~b24nb.errors.ListIncompleteError` carrying the rows fetched so far — never a
        short list without an exception. See :mod:`b24nb.listing` for the details.

        ``spare`` requests beyond ⌈N/2500⌉ + 1 may be spent, while the whole walk fits in the
        bucket's burst, to cut its batches shorter (a batch's 50 pages run one after another
        on the server, so the walk is as fast as its longest batch); loaders that keep their
        own request budgets pass 0.

        ``shared``, a :class:`~b24nb.listing.SharedProbe` made for several lists that start
        together, sends their first requests as one (``load_orders`` reads its orders,
        customer links and properties this way).
        """
        show = self.progress if progress is None else progress
        return iter_list(self, method, dict(params or {}), progress=bool(show), spare=spare,
                         shared=shared)


def connect(
    url: str | None = None,
    *,
    oauth: OAuth | Mapping[str, Any] | None = None,
    timeout: float = 30.0,
    plan: str = "standard",
    progress: bool = True,
    check: bool = True,
) -> Portal:
    """Connect to a portal: a webhook URL, OAuth settings, the environment, or the sandbox.

    Why a sandbox fallback: with nothing configured (no argument, no ``B24_WEBHOOK_URL``, no
    ``B24_OAUTH_*``) a notebook still runs end to end, on a local demo portal — and says so in
    one printed line, so nobody mistakes it for their real portal.

    Parameters
    ----------
    url : str, optional
        Incoming webhook URL ``https://<portal>/rest/<user>/<secret>/``.
    oauth : OAuth or mapping, optional
        OAuth tokens and app credentials (see :class:`b24nb.auth.OAuth`), including an optional
        ``on_refresh`` callback and ``token_url``.
    timeout, plan, progress
        See :class:`Portal`.
    check : bool
        Ask a configured portal once (``profile`` and ``scope`` in one request) and raise
        :class:`b24nb.preflight.ConnectError` naming the cause (host not found, bad secret,
        missing scope, plain http) right here, not one cell later (issue 15).
    """
    if url and oauth:
        raise ValidationError("pass either a webhook url or oauth settings, not both")
    creds: Webhook | OAuth | None
    from b24nb import preflight

    try:
        if url:
            creds = Webhook(url)
        elif oauth is not None:
            creds = oauth if isinstance(oauth, OAuth) else OAuth.from_mapping(oauth)
        else:
            creds = credentials_from_env(os.environ)
    except ValidationError as exc:
        raise preflight.refuse_url(exc) from None
    if creds is not None:
        configured = Portal(creds, timeout=timeout, plan=plan, progress=progress)
        if check:
            preflight.check_portal(configured)
        return configured

    from b24nb.sandbox import Sandbox  # the one import of the sandbox outside it

    sb = Sandbox(plan=plan)
    sb.__enter__()
    scale = float(getattr(sb, "time_scale", 1.0) or 1.0)
    portal = Portal(sb.url, timeout=timeout, plan=plan, progress=progress,
                    clock=ScaledClock(scale, now=sb.clock) if scale != 1.0 else None)
    portal.sandbox = sb
    # the sandbox lives as long as the Portal; stop it when the Portal is collected
    portal._finalizer = weakref.finalize(portal, sb.__exit__, None, None, None)
    print(f"b24nb: no portal configured (B24_WEBHOOK_URL unset) — started the sandbox portal "
          f"with demo data at {portal.host}")
    return portal
