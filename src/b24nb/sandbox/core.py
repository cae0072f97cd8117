"""``Sandbox``: a local Bitrix24 portal on 127.0.0.1, served from a background thread."""

from __future__ import annotations

import gc
import logging
import secrets
import threading
from collections.abc import Iterable
from typing import Any

from .api import ZERO_LATENCY, Latency
from .backend import Backend
from .config import SandboxConfig
from .faults import Faults
from .http import Server
from .limits import PLANS, Clock, Stats

__all__ = ["Sandbox"]

log = logging.getLogger(__name__)


class Sandbox:
    """A Bitrix24 REST emulator over real HTTP, seeded with demo data or your own records.

    It exists so the notebook, the tests and the benchmarks all talk to something that
    behaves like a cloud portal — response shapes, value types, error codes, paging quirks,
    batch references and limits — without any portal being reachable.

    Parameters
    ----------
    seed, n_deals, n_orders : int, optional
        The demo data's seed and size, by position or by name (``SandboxConfig``'s defaults:
        0, 2,000 deals, 2,400 orders).
    config : SandboxConfig, optional
        The portal's options (data, limits, plan, clock, latency, port…); see
        :class:`~.config.SandboxConfig` for each one. Defaults to ``SandboxConfig()``.
    **options
        Any :class:`~.config.SandboxConfig` field by name, overriding ``config``:
        ``Sandbox(seed=3, limits=False)`` is
        ``Sandbox(config=SandboxConfig(seed=3, limits=False))``.
        An unknown name is a ``TypeError`` that suggests the close ones.

    Examples
    --------
    >>> import requests
    >>> with Sandbox(demo=False, deals=[{"ID": 1, "TITLE": "Test"}]) as sb:
    ...     requests.post(sb.url + "crm.deal.get", json={"id": 1}).json()["result"]["TITLE"]
    'Test'
    >>> quiet = SandboxConfig(demo=False, limits=False, latency=False)
    >>> with Sandbox(config=quiet, deals=[{"ID": 1}]) as sb:
    ...     sb.counts()["deals"]
    1
    """

    def __init__(self, seed: int | None = None, n_deals: int | None = None,
                 n_orders: int | None = None, *, config: SandboxConfig | None = None,
                 **options: Any) -> None:
        if config is not None and not isinstance(config, SandboxConfig):
            raise TypeError(f"config must be a SandboxConfig, not {type(config).__name__}")
        # the first three may come by position, as before the config existed
        given = {"seed": seed, "n_deals": n_deals, "n_orders": n_orders}
        options = {**{k: v for k, v in given.items() if v is not None}, **options}
        # not kept: the config holds the caller's records, which must be freed once loaded
        cfg = (config or SandboxConfig()).replace(**options)
        self.seed = cfg.seed
        self.time_scale = float(cfg.time_scale)
        self._port = cfg.port
        self._secret = secrets.token_hex(8)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._clock = Clock(self.time_scale)
        self._backend = Backend(clock=self._clock, latency=cfg.latency, limits=cfg.limits,
                                plan=cfg.plan, operating_limit=cfg.operating_limit,
                                auto_deals=cfg.auto_deals, base_url=self._base_url)
        self.truth: dict[int, int] = {}
        # Ground truth beyond deals (demo invoices, see .demo_invoices): the true owner of
        # every order that has one, as (ownerTypeId, ownerId); orders bound to a deleted
        # owner; and the auto-created duplicate deals.
        self.truth_owner: dict[int, tuple[int, int]] = {}
        self.truth_dangling: dict[int, tuple[int, int]] = {}
        self.auto_deal_ids: set[int] = set()
        # Loading builds millions of small objects; the cyclic GC would rescan them all.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._load(cfg)
        finally:
            if gc_was_enabled:
                gc.enable()
        self.truth.update({int(k): int(v) for k, v in (cfg.truth or {}).items()})
        self.truth_owner = {**{o: (2, d) for o, d in self.truth.items()}, **self.truth_owner}

    def _load(self, cfg: SandboxConfig) -> None:
        store = self._backend.store
        if cfg.demo:
            self._load_demo(cfg.seed, cfg.n_deals, cfg.n_orders, invoices=cfg.invoices)
        store.add_people(_contact_entity(), cfg.contacts or [])
        store.add_people(_company_entity(), cfg.companies or [])
        store.add_deals(cfg.deals or [])
        store.add_orders(cfg.orders or [])
        store.add_bindings(cfg.bindings or [])
        store.create_indexes()

    def _load_demo(self, seed: int, n_deals: int, n_orders: int, *, invoices: bool) -> None:
        from .demo import generate  # lazy: demo data is only built when asked for

        store = self._backend.store
        # no dict per record: the demo is loaded as the store's own tables, and freed
        # (half a second at 200,000 deals) while SQLite builds the indexes
        scratch = list(generate(seed, n_deals, n_orders))
        self.truth.update(scratch[0].truth)
        self.auto_deal_ids = set(scratch[0].auto_deal_ids)
        planned = None
        if invoices:
            from .demo_invoices import plan

            planned = plan(scratch[0], seed)
        store.load_all(scratch[0].store_tables(), meanwhile=scratch.clear)
        if planned is not None:
            self.truth_owner, self.truth_dangling = planned.install(store, self._clock.now())

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Sandbox:
        """Start serving on 127.0.0.1 in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = Server(self._port, self._backend, self._secret)
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name="b24nb-sandbox", daemon=True)
            self._thread.start()
            log.info("sandbox portal serving on 127.0.0.1:%d", self.port)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    close = stop

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._server else "stopped"
        return f"<Sandbox {state} plan={self.plan} limits={self.limits}>"

    # ------------------------------------------------------------------ tunables
    # Live settings: changing them on a running sandbox takes effect with the next request.
    @property
    def limits(self) -> bool:
        """Whether the 503 bucket and the 429 operating-time limit are enforced."""
        return self._backend.limits

    @limits.setter
    def limits(self, value: bool) -> None:
        self._backend.limits = bool(value)

    @property
    def plan(self) -> str:
        """``"standard"`` (bucket 50, 2/s) or ``"enterprise"`` (250, 5/s)."""
        return self._backend.plan

    @plan.setter
    def plan(self, value: str) -> None:
        burst, rate = PLANS[value]
        self._backend.plan = value
        self._backend.bucket.burst, self._backend.bucket.rate = burst, rate

    @property
    def operating_limit(self) -> float:
        """Seconds of execution allowed per method per 10 minutes."""
        return self._backend.operating.limit

    @operating_limit.setter
    def operating_limit(self, value: float) -> None:
        self._backend.operating.limit = float(value)

    @property
    def latency(self) -> Latency:
        """The latency model in use (all zeros when latency is off)."""
        return self._backend.latency

    @latency.setter
    def latency(self, value: bool | Latency) -> None:
        self._backend.latency = Latency() if value is True else (value or ZERO_LATENCY)

    # ------------------------------------------------------------------ public state
    @property
    def port(self) -> int:
        """The TCP port served (0 before ``start``)."""
        return self._server.server_address[1] if self._server else 0

    def _base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The webhook URL ``http://127.0.0.1:PORT/rest/1/SECRET/`` (a secret: don't log it)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started; use `with Sandbox() as sb:`")
        return f"{self._base_url()}/rest/1/{self._secret}/"

    @property
    def stats(self) -> Stats:
        """Counters of what was served; ``sb.stats.reset()`` zeroes them."""
        return self._backend.stats

    @property
    def faults(self) -> Faults:
        """Fault rules: ``sb.faults.add(method="*", kind="503", p=0.1, seed=1)``."""
        return self._backend.faults

    def clock(self) -> float:
        """The sandbox's virtual Unix time (every time it reports is on this clock)."""
        return self._clock.now()

    def edit(self, kind: str, ids: Iterable[int], **fields: Any) -> int:
        """Edit records as another user would: ``sb.edit("deals", [5, 9], TITLE="x")``.

        ``kind`` is ``"deals"``, ``"contacts"``, ``"companies"`` or ``"orders"``; values are
        in storage form (numbers as numbers). The records' ``DATE_MODIFY``/``dateUpdate``
        become now, as on a real portal. Returns how many records changed.
        """
        return self._backend.store.edit(kind, [int(i) for i in ids], fields)

    def delete(self, kind: str, ids: Iterable[int]) -> int:
        """Delete records as another user would (an order with its links and binding)."""
        return self._backend.store.delete(kind, [int(i) for i in ids])

    def operating_seconds(self, method: str, user: int = 1) -> float:
        """Server seconds counted against ``method``'s operating budget now (last 10 min).

        Only calls of 0.1 s or more count, as on the server; benchmarks print it.
        """
        return self._backend.operating.state((f"hook:{user}", method.strip().lower()))[0]

    def refuse(self, method: str, code: str | None = "ERROR_METHOD_NOT_FOUND") -> None:
        """Answer ``method`` as a portal that does not publish it, or denies it to this hook.

        ``code`` is ``"ERROR_METHOD_NOT_FOUND"`` (HTTP 404, an older or restricted portal) or
        ``"ACCESS_DENIED"`` (403, the webhook lacks the right); ``None`` serves it again.
        Clients that fall back to another method are tested with it.
        """
        name = method.strip().lower()
        if code is None:
            self._backend.refused.pop(name, None)
        elif code in ("ERROR_METHOD_NOT_FOUND", "ACCESS_DENIED"):
            self._backend.refused[name] = code
        else:
            raise ValueError(f"code must be ERROR_METHOD_NOT_FOUND or ACCESS_DENIED, not {code!r}")

    def oauth_client(self) -> dict[str, str]:
        """The local OAuth app: ``client_id``, ``client_secret``, ``token_url``."""
        oauth = self._backend.oauth
        return {"client_id": oauth.client_id, "client_secret": oauth.client_secret,
                "token_url": self._base_url() + "/oauth/token/"}

    def issue_tokens(self, expires_in: int = 3600) -> dict[str, Any]:
        """Mint an access/refresh token pair as if the app had just been installed."""
        return self._backend.oauth.issue(expires_in)

    def bindings(self) -> list[dict[str, int]]:
        """Every order binding, read straight from the store (for tests only)."""
        rows = self._backend.store.select(
            'SELECT "orderId", "ownerId", "ownerTypeId" FROM bindings ORDER BY "orderId"')
        return [{"orderId": o, "ownerId": w, "ownerTypeId": t} for o, w, t in rows]

    def invoices(self, kind: str = "smart") -> list[dict[str, Any]]:
        """Every smart (``"smart"``) or legacy (``"legacy"``) invoice as stored (tests only).

        Storage form: times are Unix seconds, flags ``"Y"``/``"N"``, empty references None.
        """
        from .invoice_fields import INVOICE, SMART_INVOICE

        ent = SMART_INVOICE if kind == "smart" else INVOICE
        names = [f.name for f in ent.columns]
        rows = self._backend.store.select(f"SELECT * FROM {ent.table} ORDER BY 1")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def deal_rows(self) -> list[dict[str, Any]]:
        """Every deal as stored (tests only): ``ID``, ``STAGE_ID``, ``DATE_MODIFY`` (Unix)…"""
        from .fields import DEAL

        names = [f.name for f in DEAL.columns]
        rows = self._backend.store.select('SELECT * FROM deals ORDER BY "ID"')
        return [dict(zip(names, row, strict=True)) for row in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table: deals, contacts, companies, orders, bindings."""
        store = self._backend.store
        return {t: store.count(t) for t in ("deals", "contacts", "companies", "orders",
                                            "bindings")}


def _contact_entity():
    from .fields import CONTACT

    return CONTACT


def _company_entity():
    from .fields import COMPANY

    return COMPANY
