"""A bad pairs frame raises one ValidationError listing every offending row, and sends nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b24nb
from b24nb.errors import ValidationError
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.index.name = "pair_id"
    return df


GOOD = {"deal_id": 1, "order_id": 1, "owner_type_id": 2, "selected": True}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, 21)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 1.0} for i in range(1, 21)]
    with Sandbox(demo=False, deals=deals, orders=orders, limits=False, latency=False) as box:
        yield box


@pytest.fixture(scope="module")
def portal(sb: Sandbox) -> Iterator[Portal]:
    with Portal(sb.url, progress=False) as p:
        yield p


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"order_id": 0}, "order_id 0 is not an integer > 0"),
        ({"order_id": -3}, "order_id -3"),
        ({"order_id": 2.5}, "order_id 2.5"),
        ({"order_id": "7"}, "order_id '7'"),
        ({"order_id": None}, "is not an integer > 0"),
        ({"deal_id": True}, "deal_id True"),
        ({"deal_id": float("nan")}, "deal_id nan"),
        ({"owner_type_id": 3}, "owner_type_id 3 is not one of 2, 5, 31"),
        ({"owner_type_id": None}, "is not one of 2, 5, 31"),
        ({"selected": "yes"}, "selected is 'yes'"),
    ],
)
def test_bind_rejects_bad_row_and_sends_nothing(sb, portal, journal_path, change, needle):
    before = sb.stats.http_requests
    pairs = frame([GOOD, {**GOOD, "order_id": 2, **change}])
    with pytest.raises(ValidationError) as info:
        b24nb.bind(portal, pairs, progress=False)
    assert needle in str(info.value)
    assert len(info.value.problems) == 1
    assert sb.stats.http_requests == before
    assert not journal_path.exists() or b24nb.history().empty


def test_bind_lists_every_offending_row_at_once(sb, portal, journal_path):
    pairs = frame(
        [
            GOOD,
            {**GOOD, "order_id": 0},
            {**GOOD, "order_id": 3, "owner_type_id": 7},
            {**GOOD, "order_id": 1, "deal_id": 2},
        ]
    )
    with pytest.raises(ValidationError) as info:
        b24nb.bind(portal, pairs, progress=False)
    text = str(info.value)
    assert "pair 1" in text
    assert "pair 2" in text
    # order 1 is selected twice: both rows are named
    assert "order 1 is selected 2 times" in text
    assert len(info.value.problems) == 4


def test_bind_ignores_bad_values_in_rows_not_selected(sb, portal, journal_path):
    pairs = frame([{**GOOD, "order_id": 3}, {**GOOD, "order_id": -1, "selected": False}])
    b24nb.bind(portal, pairs, progress=False)
    assert pairs.loc[0, "bind_status"] == "bound"
    assert pd.isna(pairs.loc[1, "bind_status"])


def test_bind_checks_deal_exists_when_deals_given(sb, portal, journal_path):
    deals = pd.DataFrame({"TITLE": ["a", "b"]}, index=pd.Index([1, 2], name="deal_id"))
    before = sb.stats.http_requests
    pairs = frame([{**GOOD, "order_id": 4, "deal_id": 2}, {**GOOD, "order_id": 5, "deal_id": 99}])
    with pytest.raises(ValidationError, match="deal 99 is not in the deals frame"):
        b24nb.bind(portal, pairs, deals=deals, progress=False)
    assert sb.stats.http_requests == before


def test_bind_reports_missing_columns(sb, portal, journal_path):
    with pytest.raises(ValidationError, match="missing column 'selected'"):
        b24nb.bind(portal, frame([{"deal_id": 1, "order_id": 1, "owner_type_id": 2}]))


def test_unbind_validates_the_same_way(sb, portal, journal_path):
    before = sb.stats.http_requests
    with pytest.raises(ValidationError):
        b24nb.unbind(portal, frame([{**GOOD, "owner_type_id": 1}]), progress=False)
    assert sb.stats.http_requests == before


# -- property: any frame with at least one bad selected row sends nothing ---------------------

_bad_id = st.one_of(
    st.integers(max_value=0),
    st.none(),
    st.just(float("nan")),
    st.text(max_size=3),
    st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
    st.booleans(),
)
_good_id = st.integers(min_value=1, max_value=10**9)
_bad_type = st.one_of(
    st.integers().filter(lambda t: t not in (2, 5, 31)), st.none(), st.sampled_from(["2", 2.5])
)


@st.composite
def bad_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    rows = [
        {
            "deal_id": draw(_good_id),
            "order_id": 1000 + i,
            "owner_type_id": draw(st.sampled_from([2, 5, 31])),
            "selected": draw(st.booleans()),
        }
        for i in range(n)
    ]
    k = draw(st.integers(min_value=0, max_value=n - 1))
    kind = draw(st.sampled_from(["order", "deal", "type", "twice", "tick"]))
    rows[k]["selected"] = True
    if kind == "order":
        rows[k]["order_id"] = draw(_bad_id)
    elif kind == "deal":
        rows[k]["deal_id"] = draw(_bad_id)
    elif kind == "type":
        rows[k]["owner_type_id"] = draw(_bad_type)
    elif kind == "twice":
        rows.append({**rows[k]})
    else:
        rows[k]["selected"] = draw(st.sampled_from(["True", 1, 0.0, "x"]))
    return frame(rows)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=bad_frames())
def test_property_bad_frames_send_nothing(sb, portal, journal_path, pairs):
    before = sb.stats.http_requests
    bindings = sb.bindings()
    with pytest.raises(ValidationError):
        b24nb.bind(portal, pairs, progress=False, allow_rebind=True)
    assert sb.stats.http_requests == before
    assert sb.bindings() == bindings


def test_a_frame_with_many_bad_rows_lists_each_once_and_sends_nothing(sb, portal, journal_path):
    rows = [{**GOOD, "order_id": 100 + i, "owner_type_id": 9} for i in range(120)]
    rows[7] = {**GOOD, "order_id": 7}  # one good row among them: still nothing is sent
    before = sb.stats.http_requests
    with pytest.raises(ValidationError) as info:
        b24nb.bind(portal, frame(rows), progress=False)
    problems = info.value.problems
    assert len(problems) == 119
    assert problems[0] == "pair 0: owner_type_id 9 is not one of 2, 5, 31"
    assert len({p.split(":")[0] for p in problems}) == 119  # one line per offending row
    assert "… and 69 more" in str(info.value)
    assert "nothing was sent" in str(info.value)
    assert sb.stats.http_requests == before


def test_a_missing_pair_id_is_refused(sb, portal, journal_path):
    pairs = frame([GOOD, {**GOOD, "order_id": 2}])
    pairs.index = pd.Index([0, None], dtype="Int64", name="pair_id")
    before = sb.stats.http_requests
    with pytest.raises(ValidationError, match=r"pair_id \(the index\) is missing"):
        b24nb.bind(portal, pairs, progress=False)
    assert sb.stats.http_requests == before
