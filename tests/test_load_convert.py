"""Field metadata → dtypes, and the value conventions of the portal (pure functions)."""

from __future__ import annotations

import pandas as pd
import pytest

from b24nb.load._convert import column, digits, lower_email, typed_frame
from b24nb.load._fields import Kind, filter_names, kind_of


@pytest.mark.parametrize(
    ("meta", "kind"),
    [
        ({"type": "integer"}, Kind.INT),
        ({"type": "user"}, Kind.INT),
        ({"type": "crm_contact"}, Kind.INT),
        ({"type": "crm_company"}, Kind.INT),
        ({"type": "double"}, Kind.FLOAT),
        ({"type": "money"}, Kind.MONEY),
        ({"type": "datetime"}, Kind.DATETIME),
        ({"type": "date"}, Kind.DATETIME),
        ({"type": "char"}, Kind.FLAG),
        ({"type": "boolean"}, Kind.BOOL),
        ({"type": "string"}, Kind.STRING),
        ({"type": "crm_status"}, Kind.STRING),
        ({"type": "enumeration"}, Kind.STRING),
        ({"type": "integer", "isMultiple": True}, Kind.OBJECT),
        ({"type": "something_new"}, Kind.INFER),
        (None, Kind.INFER),
    ],
)
def test_kind_of_maps_declared_types_not_field_names(meta, kind):
    assert kind_of(meta) == kind


@pytest.mark.parametrize(
    ("key", "name"),
    [(">=DATE_CREATE", "DATE_CREATE"), ("!@ID", "ID"), ("%TITLE", "TITLE"), ("=%TITLE", "TITLE"),
     ("!=STAGE_ID", "STAGE_ID"), ("<OPPORTUNITY", "OPPORTUNITY"), ("@orderId", "orderId"),
     ("><DATE_CREATE", "DATE_CREATE"), ("CURRENCY_ID", "CURRENCY_ID")],
)
def test_filter_names_strip_every_operator_prefix(key, name):
    assert filter_names({key: 1}) == [name]


def test_filter_names_walk_sub_filters_and_skip_logic():
    flt = {"LOGIC": "OR", "0": {"=STAGE_ID": "WON"}, "1": {">OPPORTUNITY": 5}}
    assert filter_names(flt) == ["STAGE_ID", "OPPORTUNITY"]


def test_integers_from_strings_with_empty_values_are_int64_with_na():
    out = column("CONTACT_ID", ["84", "", None, "9"], Kind.INT)
    assert str(out.dtype) == "Int64"
    assert out.tolist()[0] == 84
    assert pd.isna(out[1])
    assert pd.isna(out[2])


def test_money_values_with_a_currency_suffix_become_floats():
    out = column("UF_CRM_PRICE", ["1000.50|RUB", "", None, "7"], Kind.MONEY)
    assert out[0] == 1000.5
    assert out[3] == 7.0
    assert pd.isna(out[1])
    assert pd.isna(out[2])


def test_a_char_field_with_other_values_than_y_n_stays_text():
    out = column("SOME_CODE", ["Y", "X", None], Kind.FLAG)
    assert str(out.dtype) == "string"
    assert out.tolist()[:2] == ["Y", "X"]


def test_a_reference_named_char_field_is_a_code_even_if_all_n():
    assert str(column("statusId", ["N", "N"], Kind.FLAG).dtype) == "string"
    assert column("payed", ["N", "N"], Kind.FLAG).tolist() == [False, False]


def test_datetimes_with_offsets_and_bare_dates_become_utc():
    out = column("DATE_CREATE", ["2024-09-02T18:37:18+02:00", "2024-09-09", ""], Kind.DATETIME)
    assert str(out.dtype) == "datetime64[ns, UTC]"
    assert out[0] == pd.Timestamp("2024-09-02T16:37:18Z")
    assert out[1] == pd.Timestamp("2024-09-09T00:00:00Z")
    assert pd.isna(out[2])


def test_undeclared_columns_are_inferred_from_the_values():
    assert str(column("x", [1176, 99.5], Kind.INFER).dtype) == "float64"
    assert str(column("x", [3, None], Kind.INFER).dtype) == "Int64"
    assert str(column("x", ["2025-01-01T00:00:00+03:00"], Kind.INFER).dtype) == \
        "datetime64[ns, UTC]"
    assert str(column("x", ["abc", ""], Kind.INFER).dtype) == "string"


def test_typed_frame_without_rows_keeps_every_column_typed():
    infos = {"ID": {"type": "integer"}, "TITLE": {"type": "string"},
             "OPPORTUNITY": {"type": "double"}, "DATE_CREATE": {"type": "datetime"}}
    frame = typed_frame([], ["ID", "TITLE", "OPPORTUNITY", "DATE_CREATE"], infos,
                        id_field="ID", index_name="deal_id")
    assert list(frame.columns) == ["TITLE", "OPPORTUNITY", "DATE_CREATE"]
    assert [str(t) for t in frame.dtypes] == ["string", "float64", "datetime64[ns, UTC]"]
    assert frame.index.name == "deal_id"
    assert str(frame.index.dtype) == "Int64"


def test_normalisers_lower_case_e_mail_and_keep_only_phone_digits():
    emails = lower_email(pd.Series([" Anna@Mail.RU ", "", None], dtype=object))
    assert emails.tolist()[0] == "anna@mail.ru"
    assert emails.isna().tolist()[1:] == [True, True]
    phones = digits(pd.Series(["+7 (916) 123-45-67", "n/a", None], dtype=object))
    assert phones.tolist()[0] == "79161234567"
    assert phones.isna().tolist()[1:] == [True, True]


def test_typed_frame_sorts_rows_that_arrive_out_of_id_order():
    infos = {"ID": {"type": "integer"}, "TITLE": {"type": "string"}}
    rows = [{"ID": "7", "TITLE": "b"}, {"ID": "3", "TITLE": "a"}]
    frame = typed_frame(rows, ["ID", "TITLE"], infos, id_field="ID", index_name="deal_id")
    assert frame.index.tolist() == [3, 7]
    assert frame["TITLE"].tolist() == ["a", "b"]
