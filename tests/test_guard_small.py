"""The small holes, each with a test: bad input is refused before anything is sent, journals
refuse to be used damaged, retries count per cause, codes are redacted, one key per portal."""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.binding.owners import read_owners
from b24nb.errors import PortalError, ValidationError
from b24nb.journal import Journal, JournalError, history
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import make_pairs


def sandbox(**kw) -> Sandbox:
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, 301)]
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, 301)]
    bindings = [{"orderId": i, "ownerId": i, "ownerTypeId": 2} for i in range(200, 301)]
    return Sandbox(demo=False, deals=deals, orders=orders, bindings=bindings, limits=False,
                   latency=False, **kw)


@pytest.fixture
def sb():
    with sandbox() as s:
        yield s


# -- JournalError before any request ------------------------------------------------------
def _not_a_journal(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")  # someone else's
    db.commit()
    db.close()


def _garbage(path):
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)


def _corrupt_page(path):
    with Journal(path) as j:
        j.start_run("http://x#user1", "bind", {"pad": "x" * 20000})
    data = bytearray(path.read_bytes())
    data[4096 + 100:4096 + 400] = b"\x07" * 300  # a b-tree page of the events table
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_not_a_journal, _garbage, _corrupt_page])
def test_a_damaged_journal_raises_journal_error_before_any_request(sb, tmp_path, damage):
    path = tmp_path / "j.sqlite"
    damage(path)
    with Portal(sb.url, progress=False) as portal:
        sb.stats.reset()
        with pytest.raises(JournalError, match=str(path)):
            b24nb.bind(portal, make_pairs(range(1, 11)), journal=path, progress=False)
        assert sb.stats.http_requests == 0


def test_an_unwritable_journal_raises_journal_error_before_any_request(sb, tmp_path):
    where = tmp_path / "dir.sqlite"
    where.mkdir()  # a folder where the file should be: cannot be opened as a database
    with Portal(sb.url, progress=False) as portal:
        sb.stats.reset()
        with pytest.raises(JournalError):
            b24nb.bind(portal, make_pairs(range(1, 11)), journal=where, progress=False)
        with pytest.raises(JournalError):
            b24nb.bind(portal, make_pairs(range(1, 11)), journal="/proc/b24nb/j.sqlite",
                       progress=False)
        assert sb.stats.http_requests == 0


# -- ValidationError: huge ids, bad bind_at; NumPy 2 bools ----------------------------------
@pytest.mark.parametrize("column", ["order_id", "deal_id"])
def test_ids_at_or_above_2_63_are_refused_before_sending(sb, journal_path, column):
    pairs = make_pairs(range(1, 4)).astype({column: object})
    pairs.loc[1, column] = 2**63
    pairs.loc[2, column] = 2**70
    with Portal(sb.url, progress=False) as portal:
        sb.stats.reset()
        with pytest.raises(ValidationError) as exc:
            b24nb.bind(portal, pairs, progress=False)
        assert sb.stats.http_requests == 0
    assert len(exc.value.problems) == 2
    assert "too large" in exc.value.problems[0]


def test_a_bad_bind_at_is_refused_before_sending(sb, journal_path):
    pairs = make_pairs(range(1, 4))
    pairs["bind_at"] = pd.Series(["2025-01-02T03:04:05Z", "yesterday-ish", None],
                                 index=pairs.index, dtype=object)
    with Portal(sb.url, progress=False) as portal:
        sb.stats.reset()
        with pytest.raises(ValidationError, match="bind_at 'yesterday-ish'"):
            b24nb.bind(portal, pairs, progress=False)
        assert sb.stats.http_requests == 0
        pairs.loc[1, "bind_at"] = "2025-01-03 10:00"  # naive text: read as UTC
        assert b24nb.bind(portal, pairs, progress=False)["bound"] == 3
        assert str(pairs["bind_at"].dtype) == "datetime64[ns, UTC]"


def test_numpy_bools_in_an_object_selected_column_are_ticks(sb, journal_path):
    pairs = make_pairs(range(1, 5))
    pairs["selected"] = pd.Series([np.True_, np.False_, True, np.True_], index=pairs.index,
                                  dtype=object)
    with Portal(sb.url, progress=False) as portal:
        summary = b24nb.bind(portal, pairs, progress=False)
    assert summary["bound"] == 3
    assert pairs["bind_status"].isna().tolist() == [False, True, False, False]


# -- never-sent rows keep their own status ---------------------------------------------------
def test_rows_taken_for_a_batch_but_never_sent_read_skipped_not_pending(sb, journal_path):
    # one batch at a time: the test scripts what happens between batches
    with Portal(sb.url, progress=False) as portal:
        pairs = make_pairs(range(1, 121))
        real, calls = portal.batch, []

        def batch(cmds, *, halt=False):
            calls.append(cmds)
            if len(calls) == 4:  # plan read, re-check, adds of batch one, re-check of two
                raise KeyboardInterrupt
            return real(cmds, halt=halt)

        portal.batch = batch  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(portal, pairs, progress=False, in_flight=1)
    assert pairs["bind_status"].value_counts().to_dict() == {"bound": 50, "skipped": 70}
    assert pairs["bind_message"].iloc[50].startswith("not sent")
    assert len(sb.bindings()) == 101 + 50  # the seeded ones and batch one: nothing else sent


# -- retry budgets per cause ------------------------------------------------------------------
def test_five_503s_and_two_500s_do_not_give_up_a_read():
    with sandbox(time_scale=100) as s, \
            Portal(s.url, progress=False, clock=ScaledClock(100, now=s.clock)) as portal:
        s.faults.add(method="crm.orderentity.list", kind="503", times=5)
        # fires with the 503s too (used up on them), then twice on its own
        s.faults.add(method="crm.orderentity.list", kind="500", times=7)
        got = read_owners(portal, range(190, 211))
        assert got == {o: (o, 2) for o in range(200, 211)}
        assert s.stats.faults_injected == 7
        assert portal.stats.retries == 7


# -- codes redacted like descriptions -------------------------------------------------------
class _EchoProxy(BaseHTTPRequestHandler):
    """A proxy that answers every request with its own path as the error code."""

    def do_POST(self):
        body = json.dumps({"error": self.path, "error_description": f"bad {self.path}"})
        data = body.encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_an_error_code_echoing_the_webhook_path_is_redacted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "s3cr3tHookValue42"
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/rest/1/{secret}/"
        with Portal(url, progress=False) as portal, pytest.raises(PortalError) as exc:
            portal.call("crm.deal.list")
    finally:
        server.shutdown()
        server.server_close()
    err = exc.value
    for text in (str(err), repr(err), err.code, err.description):
        assert secret not in text
    assert err.code.startswith("/rest/1/")


# -- one canonical journal key per portal --------------------------------------------------------
@pytest.mark.parametrize("url", ["https://X.Bitrix24.ru:443/rest/1/abcdef123/",
                                 "https://x.bitrix24.ru./rest/1/abcdef123/",
                                 "https://x.bitrix24.ru/rest/1/abcdef123/"])
def test_spellings_of_one_portal_give_one_journal_key(url):
    assert Portal(url, progress=False).identity == "https://x.bitrix24.ru#user1"


def test_a_bind_through_localhost_is_undone_through_127_0_0_1(sb, journal_path):
    local = sb.url.replace("127.0.0.1", "localhost")
    pairs = make_pairs(range(1, 51))
    with Portal(local, progress=False) as portal:
        assert b24nb.bind(portal, pairs, progress=False)["bound"] == 50
    with Portal(sb.url, progress=False) as portal:
        summary = b24nb.unbind(portal, pairs, progress=False)
        assert summary["unbound"] == 50
        h = history(portal=portal)
    assert len(sb.bindings()) == 101
    assert set(h["portal"]) == {portal.identity}


def test_old_journal_rows_keyed_as_typed_still_belong_to_the_portal(journal_path):
    with Journal(journal_path) as j:
        j.start_run("https://X.bitrix24.ru:443#user1", "bind")
        j.record_sends("https://X.bitrix24.ru:443#user1", "r", [{
            "action": "bind", "method": "crm.orderentity.add", "order_id": 5, "owner_id": 7,
            "owner_type_id": 2}])
        assert j.pending_orders("https://x.bitrix24.ru#user9") == {5}


def test_the_journal_imports_nothing_from_binding():
    import subprocess
    import sys

    code = ("import sys, b24nb.journal, b24nb.portal; "
            "print(sorted(m for m in sys.modules if m.startswith('b24nb.binding')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
