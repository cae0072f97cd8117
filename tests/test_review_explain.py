"""Explanations on screen: headers, plain words, the per-field breakdown, safe portal links."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.widgets import review
from b24nb.widgets._explain import breakdown_html, plain_reasons, portal_base
from review_frames import review_frames


@pytest.fixture(scope="module")
def pairs():
    deals, orders, bindings = review_frames(1, 300, 360)
    return b24nb.suggest(deals, orders, bindings=bindings)


def test_reasons_read_as_words_not_symbols(pairs):
    for text in pairs["reasons"].head(200):
        plain = plain_reasons(text)
        assert " =" not in plain
        assert "≈" not in plain
    assert plain_reasons("amount = · e-mail = · +2 d") == (
        "same amount · same e-mail · order 2 days after the deal")


def test_each_row_folds_a_breakdown_of_every_evidence_column(pairs):
    picker = review(pairs)
    row_html = picker.rows[0].html.value
    pid = picker.rows[0].pair_id
    ev = [c for c in pairs.columns if c.startswith("ev_")]
    assert ev
    assert '<details class="b24nb-why">' in row_html
    fields = re.findall(r'class="b24nb-ev" data-field="([^"]+)"', row_html)
    assert fields == [c[3:] for c in ev] + ["total"]
    total = float(re.search(r'data-field="total".*?>([+-][\d.]+)<', row_html).group(1))
    assert total == pytest.approx(float(pairs.loc[pid, ev].sum()), abs=0.006)
    assert "b24nb-header" in picker.review.header.value
    assert "score" in picker.review.header.value


def test_breakdown_follows_whatever_evidence_the_frame_has():
    html = breakdown_html({"ev_alpha": 3.0, "ev_beta": -1.5, "lvl_alpha": 2, "prior": -4.0,
                           "score": 0.2})
    assert re.findall(r'data-field="([^"]+)"', html) == ["prior", "alpha", "beta", "total"]
    assert "(level 2)" in html
    assert "-2.50" in html
    assert "no per-field evidence" in breakdown_html({"score": 0.5})


def test_links_open_the_portal_pages_in_a_new_tab_and_never_hold_the_secret(small_sandbox,
                                                                            pairs):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    picker = review(pairs, portal=portal)
    secret = small_sandbox.url.rstrip("/").rsplit("/", 1)[-1]
    row = picker.rows[0]
    deal, order = pairs.loc[row.pair_id, ["deal_id", "order_id"]]
    host = portal.host
    assert f'href="{host}/crm/deal/details/{deal}/" target="_blank"' in row.html.value
    assert f'href="{host}/shop/orders/details/{order}/" target="_blank"' in row.html.value
    every = "".join(r.html.value for r in picker.rows) + picker.summary.value
    assert secret not in every
    assert "/rest/" not in every
    hrefs = re.findall(r'href="([^"]+)"', every)
    assert hrefs
    assert all(h.startswith((host + "/crm/", host + "/shop/"))
                         for h in hrefs)


def test_invoice_owners_link_to_their_own_page():
    frame = pd.DataFrame({"deal_id": pd.array([7], dtype="Int64"),
                          "owner_type_id": pd.array([31], dtype="Int64"),
                          "order_id": pd.array([9], dtype="Int64"), "score": [0.9]},
                         index=pd.Index([0], name="pair_id"))

    class Host:
        host = "https://acme.bitrix24.test"

    picker = review(frame, portal=Host(), record_decisions=False)
    assert 'href="https://acme.bitrix24.test/crm/type/31/details/7/"' in picker.rows[0].html.value
    assert "invoice 7" in picker.rows[0].html.value


@pytest.mark.parametrize("host", ["https://x.test/rest/1/s3cr3tvalue", "ftp://x.test",
                                  "https://user:pw@x.test", None, ""])
def test_no_link_base_from_anything_but_a_bare_host(host):
    class P:
        pass

    p = P()
    p.host = host
    assert portal_base(p) is None


def test_needs_rebind_rows_name_the_checkbox_not_the_keyword(pairs):
    frame = pairs.head(3).copy()
    frame["bind_status"] = pd.array(["needs_rebind", pd.NA, pd.NA], dtype="string")
    frame["bind_error"] = pd.array(["NEEDS_REBIND", pd.NA, pd.NA], dtype="string")
    frame["bind_message"] = pd.array(
        ["order is bound to deal 5; pass allow_rebind=True to move it", pd.NA, pd.NA],
        dtype="string")
    picker = review(frame, record_decisions=False)
    html = next(r.html.value for r in picker.rows if r.pair_id == frame.index[0])
    assert "allow_rebind=True" not in html
    assert "tick &#x27;allow rebind&#x27;" in html


def test_bind_button_is_disabled_with_nothing_to_send(pairs):
    class Host:
        host = "https://acme.bitrix24.test"

    frame = pairs.copy()
    frame["selected"] = pd.array(np.zeros(len(frame), dtype=bool), dtype="boolean")
    picker = review(frame, portal=Host(), record_decisions=False)
    assert picker.bind_button.disabled
    picker.rows[0].checkbox.value = True
    assert not picker.bind_button.disabled
    picker.review.untick_all_button.click()
    assert picker.bind_button.disabled
