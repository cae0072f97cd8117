"""suggest() on portals unlike the demo it was built on: the bars of issue 10.

Data: the sandbox generator with other distributions (``b24nb.sandbox.demo_mix`` presets and
knobs), on seeds no weight was tuned on; one portal is served by the sandbox and loaded over
HTTP, the rest are the generator's records turned into the loaders' frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.match import suggest
from b24nb.sandbox.demo import make_demo, mix
from b24nb.testing import demo_frames, score_against_truth

BARS = {"precision_selected": 0.98, "recall_all": 0.95, "recall_selected": 0.70,
        "recall_auto": 0.90}

SETTINGS = {
    "shop": "shop",
    "b2b": "b2b",
    # one knob at a time, far from the demo's value
    "no_titles_all_lag_before": mix("demo", titles="none", title_number_share=0.0,
                                    lag=(0.8, 10.0, 2.0)),
    "catalogue_heavy_repeaters": mix("demo", catalogue_share=0.8, repeat=0.5),
    "sparse_contacts": mix("demo", deal_no_contact=0.3, order_email_missing=0.4,
                           order_phone_missing=0.5, order_client_share=0.1),
    "office_numbers_many_currencies": mix(
        "b2b", number_formats="office", title_number_share=0.5,
        currencies=("RUB",) * 25 + ("USD",) * 25 + ("EUR",) * 25 + ("KZT",) * 25),
}


def _quality(knobs: object, seed: int, n_deals: int = 2000, n_orders: int = 2400
             ) -> dict[str, float]:
    demo = make_demo(seed=seed, n_deals=n_deals, n_orders=n_orders, knobs=knobs)
    deals, orders, bindings, truth = demo_frames(demo=demo)
    pairs = suggest(deals, orders, bindings)
    return score_against_truth(pairs, truth, bindings, demo.auto_deal_ids)


@pytest.mark.parametrize("seed", [31, 47])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_quality_bars_hold_on_portals_unlike_the_demo(setting: str, seed: int) -> None:
    q = _quality(SETTINGS[setting], seed)
    assert q["selected"] > 100
    misses = {k: round(q[k], 3) for k, bar in BARS.items() if not q[k] >= bar}
    assert not misses, f"{setting} seed {seed}: below the bars {misses}"


def test_a_small_portal_still_gets_sure_suggestions() -> None:
    q = _quality("shop", seed=5, n_deals=150, n_orders=180)
    assert q["precision_selected"] >= 0.98
    assert q["recall_all"] >= 0.90
    assert q["selected"] > 10


def test_shop_portal_over_http_meets_the_bars() -> None:
    from b24nb.sandbox import Sandbox

    demo = make_demo(seed=77, knobs="shop")
    with Sandbox(deals=demo.deals, orders=demo.orders, contacts=demo.contacts,
                 companies=demo.companies, bindings=demo.bindings, demo=False, limits=False,
                 latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        deals = b24nb.load_deals(portal, progress=False)
        orders = b24nb.load_orders(portal, progress=False)
        bindings = b24nb.load_bindings(portal, progress=False)
    pairs = suggest(deals, orders, bindings)
    q = score_against_truth(pairs, demo.truth, bindings, demo.auto_deal_ids)
    misses = {k: round(q[k], 3) for k, bar in BARS.items() if not q[k] >= bar}
    assert not misses, misses


def test_scores_are_calibrated_on_other_data() -> None:
    """Among pairs scored 0.9–1.0 at least 90 % are true; among 0.5–0.9, at least a third."""
    rows = []
    for setting, seed in (("shop", 3), ("b2b", 4)):
        demo = make_demo(seed=seed, knobs=setting)
        deals, orders, bindings, truth = demo_frames(demo=demo)
        p = suggest(deals, orders, bindings)
        t = pd.Series(truth).reindex(p["order_id"].to_numpy()).to_numpy()
        rows.append(pd.DataFrame({"score": p["score"].to_numpy(),
                                  "true": p["deal_id"].to_numpy(np.float64) == t}))
    both = pd.concat(rows)
    top = both[both["score"] >= 0.9]
    assert len(top) > 500
    assert top["true"].mean() >= 0.9
    mid = both[(both["score"] >= 0.5) & (both["score"] < 0.9)]
    assert mid["true"].mean() >= 0.33


def test_a_rare_equal_amount_alone_is_suggested_a_common_one_is_not_pre_ticked() -> None:
    """Term frequency: 54,777.70 shared by one order means much; 990 shared by 300, little."""
    demo = make_demo(seed=9, knobs="shop")
    deals, orders, bindings, _ = demo_frames(demo=demo)
    p = suggest(deals, orders, bindings, low=0.0)
    eq = p[p["lvl_amount"] == 1]
    amount_key = eq["order_amount"].round(2).astype(str) + eq["currency"].astype(str)
    o_key = orders["price"].round(2).astype(str) + orders["currency"].astype(str)
    shared = amount_key.map(o_key.value_counts())
    rare, common = eq[shared.to_numpy() == 1], eq[shared.to_numpy() >= 30]
    assert len(rare) > 20
    assert len(common) > 20
    assert rare["ev_amount"].min() > common["ev_amount"].max()
