"""Field catalogues of the two invoice kinds a portal keeps, and their tables.

* **Smart invoices** (``SMART_INVOICE``, entity type 31) are served by the universal
  ``crm.item.*`` methods with ``entityTypeId=31``: camelCase names, typed values, ``items``
  wrapper (research ``bitrix24-api.md`` §2; DOCS ``crm/universal/crm-item-list.md``).
* **Legacy invoices** (``INVOICE``, entity type 5) are served by the deprecated
  ``crm.invoice.*`` methods: UPPER_SNAKE names, every scalar a string, legacy paging
  (DOCS ``crm/outdated/invoice/crm-invoice-list.md``, ``crm-invoice-fields.md``).

The tables live beside the deals in the CRM database; they are created by
:func:`create_tables` (the store's schema module stays the deals' and orders').
"""

from __future__ import annotations

import sqlite3

from .fields import SQL_TYPES, Entity, Field

__all__ = ["INVOICE", "INVOICE_TABLES", "SMART_INVOICE", "create_tables"]


def _f(name: str, kind: str, api_type: str, title: str = "", **kw: bool) -> Field:
    return Field(name, kind, api_type, title or name, **kw)


SMART_INVOICE = Entity("smart_invoice", "smart_invoices", "id", (
    _f("id", "int", "integer", "ID", read_only=True),
    _f("xmlId", "str", "string", "Внешний код"),
    _f("title", "str", "string", "Название"),
    _f("accountNumber", "str", "string", "Номер"),
    _f("createdBy", "ref", "user", "Кем создан", read_only=True),
    _f("updatedBy", "ref", "user", "Кем изменён", read_only=True),
    _f("movedBy", "ref", "user", "Кем изменена стадия", read_only=True),
    _f("createdTime", "datetime", "datetime", "Дата создания", read_only=True, index=True),
    _f("updatedTime", "datetime", "datetime", "Дата изменения", read_only=True),
    _f("movedTime", "datetime", "datetime", "Дата изменения стадии", read_only=True),
    _f("categoryId", "int", "crm_category", "Воронка"),
    _f("opened", "yn", "boolean", "Доступен для всех"),
    _f("stageId", "str", "crm_status", "Стадия"),
    _f("previousStageId", "str", "crm_status", "Предыдущая стадия", read_only=True),
    _f("begindate", "date", "date", "Дата выставления"),
    _f("closedate", "date", "date", "Срок оплаты"),
    _f("companyId", "ref", "crm_company", "Компания", index=True),
    _f("contactId", "ref", "crm_contact", "Контакт", index=True),
    _f("opportunity", "float", "double", "Сумма", index=True),
    _f("isManualOpportunity", "yn", "boolean", "Сумма заполнена вручную"),
    _f("taxValue", "float", "double", "Сумма налога"),
    _f("currencyId", "str", "crm_currency", "Валюта"),
    _f("mycompanyId", "ref", "crm_company", "Реквизиты вашей компании"),
    _f("sourceId", "str", "crm_status", "Источник"),
    _f("comments", "str", "text", "Комментарий"),
    _f("assignedById", "ref", "user", "Ответственный", index=True),
    _f("entityTypeId", "int", "integer", "Тип сущности", read_only=True),
), upper_names=False)

INVOICE = Entity("invoice", "invoices", "ID", (
    _f("ID", "int", "integer", "ID", read_only=True),
    _f("ACCOUNT_NUMBER", "str", "string", "Номер", required=True),
    _f("ORDER_TOPIC", "str", "string", "Тема", required=True),
    _f("STATUS_ID", "str", "crm_status", "Статус"),
    _f("PRICE", "float", "double", "Сумма", read_only=True, index=True),
    _f("CURRENCY", "str", "crm_currency", "Валюта", read_only=True),
    _f("TAX_VALUE", "float", "double", "Сумма налога", read_only=True),
    _f("PAYED", "yn", "char", "Оплачен", read_only=True),
    _f("DATE_INSERT", "datetime", "datetime", "Дата создания", index=True),
    _f("DATE_UPDATE", "datetime", "datetime", "Дата изменения", read_only=True),
    _f("DATE_STATUS", "datetime", "datetime", "Дата изменения статуса", read_only=True),
    _f("DATE_BILL", "date", "date", "Дата выставления"),
    _f("DATE_PAY_BEFORE", "date", "date", "Срок оплаты"),
    _f("DATE_PAYED", "datetime", "datetime", "Дата оплаты", read_only=True),
    _f("PERSON_TYPE_ID", "ref", "integer", "Тип плательщика", required=True),
    _f("PAY_SYSTEM_ID", "ref", "integer", "Платёжная система", required=True),
    _f("RESPONSIBLE_ID", "ref", "integer", "Ответственный", index=True),
    _f("CREATED_BY", "ref", "integer", "Кем создан", read_only=True),
    _f("LID", "str", "string", "Сайт", read_only=True),
    _f("XML_ID", "str", "string", "Внешний код"),
    _f("IS_RECURRING", "yn", "char", "Шаблон регулярного счёта"),
    _f("COMMENTS", "str", "text", "Комментарий менеджера"),
    _f("USER_DESCRIPTION", "str", "string", "Комментарий"),
    _f("UF_CONTACT_ID", "ref", "integer", "Контакт", index=True),
    _f("UF_COMPANY_ID", "ref", "integer", "Компания", index=True),
    _f("UF_MYCOMPANY_ID", "ref", "integer", "Ваша компания"),
    _f("UF_DEAL_ID", "ref", "integer", "Сделка"),
    _f("UF_QUOTE_ID", "ref", "integer", "Предложение"),
))

INVOICE_TABLES = (SMART_INVOICE, INVOICE)


def create_tables(db: sqlite3.Connection) -> None:
    """Create the invoice tables (and their indexes) in the CRM database if missing."""
    for ent in INVOICE_TABLES:
        cols = ", ".join(f'"{f.name}" {SQL_TYPES[f.kind]}' + (" PRIMARY KEY" if f.name == ent.pk
                                                               else "") for f in ent.columns)
        db.execute(f"CREATE TABLE IF NOT EXISTS main.{ent.table} ({cols})")
        for f in ent.columns:
            if f.index:
                db.execute(f'CREATE INDEX IF NOT EXISTS main.ix_{ent.table}_{f.name} '
                           f'ON {ent.table} ("{f.name}")')
