"""Field catalogues of the emulated entities: names, storage kinds and ``*.fields`` metadata.

One table per entity drives storage (SQLite column types), input casting (seeds and ``add``),
output formatting (strings for legacy CRM, typed camelCase for ``sale.*``) and the answers of
``crm.deal.fields`` / ``crm.orderentity.getFields``. Keeping it declarative means a field added
here is stored, filtered, sorted, selected and described consistently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["COMPANY", "CONTACT", "DEAL", "DEAL_ITEM", "ORDER", "ORDER_CLIENT", "ORDER_ENTITY",
           "PROPERTY_VALUE", "Entity", "Field"]

# Storage kinds:
#   int      integer, never null (IDs, counters)
#   ref      nullable integer; 0 and "" are stored as NULL (empty references are null)
#   float    double
#   str      text, nullable
#   yn       "Y"/"N" flag
#   datetime Unix time (REAL), printed ISO 8601 with the portal's offset
#   date     Unix time of local midnight, printed like a datetime at 00:00
#   fm       CRM multifield (PHONE, EMAIL, …): not a column; lives in the ``fm`` table
SQL_TYPES = {"int": "INTEGER", "ref": "INTEGER", "float": "REAL", "str": "TEXT", "yn": "TEXT",
             "datetime": "REAL", "date": "REAL"}


@dataclass(frozen=True)
class Field:
    """One API field: its name, storage kind and the metadata ``*.fields`` reports."""

    name: str
    kind: str
    api_type: str
    title: str = ""
    required: bool = False
    read_only: bool = False
    immutable: bool = False
    index: bool = False
    column: str = ""  # storage column when it differs from the API name (crm.item views)

    @property
    def col(self) -> str:
        """The table column holding this field."""
        return self.column or self.name


@dataclass(frozen=True)
class Entity:
    """An entity type: its table, primary key and fields in API order."""

    name: str
    table: str
    pk: str
    fields: tuple[Field, ...]
    upper_names: bool = True  # legacy CRM: UPPER_SNAKE names, matched case-insensitively
    layout: Entity | None = None  # the entity whose table this one views (crm.item → deals)
    by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            self.by_name[f.name.upper() if self.upper_names else f.name] = f

    def lookup(self, name: str) -> Field | None:
        """Resolve an API name the way this entity's REST layer does, or None if unknown."""
        return self.by_name.get(name.upper() if self.upper_names else name)

    @cached_property
    def columns(self) -> tuple[Field, ...]:
        """Fields stored as table columns (everything except multifields)."""
        return tuple(f for f in self.fields if f.kind != "fm")

    @cached_property
    def positions(self) -> dict[str, int]:
        """Column name → position in ``SELECT *`` rows of the table."""
        return {f.col: i for i, f in enumerate((self.layout or self).columns)}

    @cached_property
    def pk_column(self) -> str:
        """The table column of the primary key."""
        return self.by_name[self.pk.upper() if self.upper_names else self.pk].col


def _f(name: str, kind: str, api_type: str, title: str = "", **kw: bool) -> Field:
    return Field(name, kind, api_type, title or name, **kw)


_UTM = tuple(_f(f"UTM_{p}", "str", "string") for p in
             ("SOURCE", "MEDIUM", "CAMPAIGN", "CONTENT", "TERM"))

DEAL = Entity("deal", "deals", "ID", (
    _f("ID", "int", "integer", "ID", read_only=True),
    _f("TITLE", "str", "string", "Название"),
    _f("TYPE_ID", "str", "crm_status", "Тип"),
    _f("CATEGORY_ID", "int", "crm_category", "Воронка", immutable=True),
    _f("STAGE_ID", "str", "crm_status", "Стадия сделки", index=True),
    _f("STAGE_SEMANTIC_ID", "str", "string", "Группа стадии", read_only=True),
    _f("IS_NEW", "yn", "char", "Новая сделка", read_only=True),
    _f("IS_RECURRING", "yn", "char", "Регулярная сделка"),
    _f("IS_RETURN_CUSTOMER", "yn", "char", "Повторная сделка", read_only=True),
    _f("IS_REPEATED_APPROACH", "yn", "char", "Повторное обращение", read_only=True),
    _f("PROBABILITY", "ref", "integer", "Вероятность"),
    _f("CURRENCY_ID", "str", "crm_currency", "Валюта"),
    _f("OPPORTUNITY", "float", "double", "Сумма", index=True),
    _f("IS_MANUAL_OPPORTUNITY", "yn", "char", "IS_MANUAL_OPPORTUNITY"),
    _f("TAX_VALUE", "float", "double", "Ставка налога"),
    _f("COMPANY_ID", "ref", "crm_company", "Компания", index=True),
    _f("CONTACT_ID", "ref", "crm_contact", "Контакт", index=True),
    _f("QUOTE_ID", "ref", "crm_quote", "Предложение", read_only=True),
    _f("BEGINDATE", "date", "date", "Дата начала"),
    _f("CLOSEDATE", "date", "date", "Дата завершения"),
    _f("OPENED", "yn", "char", "Доступна для всех"),
    _f("CLOSED", "yn", "char", "Закрыта"),
    _f("COMMENTS", "str", "string", "Комментарий"),
    _f("ASSIGNED_BY_ID", "ref", "user", "Ответственный", index=True),
    _f("CREATED_BY_ID", "ref", "user", "Кем создана", read_only=True),
    _f("MODIFY_BY_ID", "ref", "user", "Кем изменена", read_only=True),
    _f("DATE_CREATE", "datetime", "datetime", "Дата создания", read_only=True, index=True),
    _f("DATE_MODIFY", "datetime", "datetime", "Дата изменения", read_only=True, index=True),
    _f("SOURCE_ID", "str", "crm_status", "Источник"),
    _f("SOURCE_DESCRIPTION", "str", "string", "Дополнительно об источнике"),
    _f("LEAD_ID", "ref", "crm_lead", "Лид", read_only=True),
    _f("ADDITIONAL_INFO", "str", "string", "Дополнительная информация"),
    _f("LOCATION_ID", "str", "location", "Местоположение"),
    _f("ORIGINATOR_ID", "str", "string", "Внешний источник"),
    _f("ORIGIN_ID", "str", "string", "Идентификатор элемента во внешнем источнике"),
    *_UTM,
    _f("LAST_ACTIVITY_TIME", "datetime", "datetime", "Последняя активность", read_only=True),
    _f("LAST_ACTIVITY_BY", "ref", "user", "Автор последней активности", read_only=True),
))

CONTACT = Entity("contact", "contacts", "ID", (
    _f("ID", "int", "integer", "ID", read_only=True),
    _f("HONORIFIC", "str", "crm_status", "Обращение"),
    _f("NAME", "str", "string", "Имя", index=True),
    _f("SECOND_NAME", "str", "string", "Отчество"),
    _f("LAST_NAME", "str", "string", "Фамилия", index=True),
    _f("BIRTHDATE", "date", "date", "Дата рождения"),
    _f("TYPE_ID", "str", "crm_status", "Тип контакта"),
    _f("SOURCE_ID", "str", "crm_status", "Источник"),
    _f("SOURCE_DESCRIPTION", "str", "string", "Дополнительно об источнике"),
    _f("POST", "str", "string", "Должность"),
    _f("COMMENTS", "str", "string", "Комментарий"),
    _f("OPENED", "yn", "char", "Доступен для всех"),
    _f("EXPORT", "yn", "char", "Участвует в экспорте контактов"),
    _f("HAS_PHONE", "yn", "char", "Задан телефон", read_only=True),
    _f("HAS_EMAIL", "yn", "char", "Задан e-mail", read_only=True),
    _f("HAS_IMOL", "yn", "char", "Задана открытая линия", read_only=True),
    _f("ASSIGNED_BY_ID", "ref", "user", "Ответственный"),
    _f("CREATED_BY_ID", "ref", "user", "Кем создан", read_only=True),
    _f("MODIFY_BY_ID", "ref", "user", "Кем изменен", read_only=True),
    _f("DATE_CREATE", "datetime", "datetime", "Дата создания", read_only=True, index=True),
    _f("DATE_MODIFY", "datetime", "datetime", "Дата изменения", read_only=True),
    _f("COMPANY_ID", "ref", "crm_company", "Компания", index=True),
    _f("LEAD_ID", "ref", "crm_lead", "Лид", read_only=True),
    _f("ORIGINATOR_ID", "str", "string", "Внешний источник"),
    _f("ORIGIN_ID", "str", "string", "Идентификатор элемента во внешнем источнике"),
    *_UTM,
    _f("LAST_ACTIVITY_TIME", "datetime", "datetime", "Последняя активность", read_only=True),
    _f("LAST_ACTIVITY_BY", "ref", "user", "Автор последней активности", read_only=True),
    _f("PHONE", "fm", "crm_multifield", "Телефон"),
    _f("EMAIL", "fm", "crm_multifield", "E-mail"),
    _f("WEB", "fm", "crm_multifield", "Сайт"),
    _f("IM", "fm", "crm_multifield", "Мессенджер"),
))

COMPANY = Entity("company", "companies", "ID", (
    _f("ID", "int", "integer", "ID", read_only=True),
    _f("TITLE", "str", "string", "Название компании", index=True),
    _f("COMPANY_TYPE", "str", "crm_status", "Тип компании"),
    _f("INDUSTRY", "str", "crm_status", "Сфера деятельности"),
    _f("EMPLOYEES", "str", "crm_status", "Кол-во сотрудников"),
    _f("REVENUE", "float", "double", "Годовой оборот"),
    _f("CURRENCY_ID", "str", "crm_currency", "Валюта"),
    _f("COMMENTS", "str", "string", "Комментарий"),
    _f("OPENED", "yn", "char", "Доступна для всех"),
    _f("IS_MY_COMPANY", "yn", "char", "Моя компания"),
    _f("HAS_PHONE", "yn", "char", "Задан телефон", read_only=True),
    _f("HAS_EMAIL", "yn", "char", "Задан e-mail", read_only=True),
    _f("ASSIGNED_BY_ID", "ref", "user", "Ответственный"),
    _f("CREATED_BY_ID", "ref", "user", "Кем создана", read_only=True),
    _f("MODIFY_BY_ID", "ref", "user", "Кем изменена", read_only=True),
    _f("DATE_CREATE", "datetime", "datetime", "Дата создания", read_only=True, index=True),
    _f("DATE_MODIFY", "datetime", "datetime", "Дата изменения", read_only=True),
    _f("LEAD_ID", "ref", "crm_lead", "Лид", read_only=True),
    _f("ORIGINATOR_ID", "str", "string", "Внешний источник"),
    _f("ORIGIN_ID", "str", "string", "Идентификатор элемента во внешнем источнике"),
    _f("PHONE", "fm", "crm_multifield", "Телефон"),
    _f("EMAIL", "fm", "crm_multifield", "E-mail"),
    _f("WEB", "fm", "crm_multifield", "Сайт"),
))

ORDER = Entity("order", "orders", "id", (
    _f("id", "int", "integer", read_only=True),
    _f("lid", "str", "string", required=True),
    _f("accountNumber", "str", "string", index=True),
    _f("xmlId", "str", "string"),
    _f("id1c", "str", "string"),
    _f("version", "int", "integer"),
    _f("version1c", "str", "string"),
    _f("updated1c", "yn", "char"),
    _f("externalOrder", "yn", "char"),
    _f("personTypeId", "int", "integer", required=True),
    _f("personTypeXmlId", "str", "string"),
    _f("statusId", "str", "char", index=True),
    _f("statusXmlId", "str", "string"),
    _f("empStatusId", "ref", "integer"),
    _f("dateStatus", "datetime", "datetime"),
    _f("canceled", "yn", "char"),
    _f("dateCanceled", "datetime", "datetime"),
    _f("empCanceledId", "ref", "integer"),
    _f("reasonCanceled", "str", "string"),
    _f("marked", "yn", "char"),
    _f("dateMarked", "datetime", "datetime"),
    _f("empMarkedId", "ref", "integer"),
    _f("reasonMarked", "str", "string"),
    _f("price", "float", "double", index=True),
    _f("discountValue", "float", "double"),
    _f("taxValue", "float", "double"),
    _f("currency", "str", "string", required=True),
    _f("payed", "yn", "char"),
    _f("deducted", "yn", "char"),
    _f("userId", "ref", "integer", index=True),
    _f("responsibleId", "ref", "integer"),
    _f("companyId", "ref", "integer"),
    _f("affiliateId", "ref", "integer"),
    _f("userDescription", "str", "string"),
    _f("additionalInfo", "str", "string"),
    _f("comments", "str", "string"),
    _f("orderTopic", "str", "string"),
    _f("recurringId", "ref", "integer"),
    _f("lockedBy", "ref", "integer"),
    _f("dateLock", "datetime", "datetime"),
    _f("recountFlag", "yn", "char"),
    _f("dateInsert", "datetime", "datetime", read_only=True, index=True),
    _f("dateUpdate", "datetime", "datetime", read_only=True, index=True),
), upper_names=False)

ORDER_ENTITY = Entity("orderentity", "bindings", "orderId", (
    _f("orderId", "int", "integer", required=True, immutable=True),
    _f("ownerId", "int", "integer", required=True, immutable=True, index=True),
    _f("ownerTypeId", "int", "integer", required=True, immutable=True),
), upper_names=False)

# crm.ordercontactcompany.list: the CRM contact/company links of orders (b_crm_order_contact
# _company; the controller's entity fields ID, ORDER_ID, ENTITY_ID, ENTITY_TYPE_ID, SORT,
# ROLE_ID, IS_PRIMARY, answered camelCase like every engine controller).
ORDER_CLIENT = Entity("ordercontactcompany", "order_clients", "id", (
    _f("id", "int", "integer", read_only=True),
    _f("orderId", "int", "integer", required=True, immutable=True, index=True),
    _f("entityId", "int", "integer", required=True, immutable=True),
    _f("entityTypeId", "int", "integer", required=True, immutable=True),
    _f("sort", "int", "integer"),
    _f("roleId", "ref", "integer"),
    _f("isPrimary", "yn", "char"),
), upper_names=False)

PROPERTY_VALUE = Entity("propertyvalue", "order_props", "id", (
    _f("id", "int", "integer", read_only=True),
    _f("orderId", "int", "integer", index=True),
    _f("orderPropsId", "int", "integer"),
    _f("orderPropsXmlId", "str", "string"),
    _f("code", "str", "string"),
    _f("name", "str", "string"),
    _f("value", "str", "string"),
    _f("multiple", "yn", "char"),
    _f("type", "str", "string"),
), upper_names=False)

# crm.item.list (entityTypeId=2): the same deals, camelCase names, typed values.
_ITEM_NAMES = (
    ("id", "ID"), ("title", "TITLE"), ("typeId", "TYPE_ID"), ("categoryId", "CATEGORY_ID"),
    ("stageId", "STAGE_ID"), ("stageSemanticId", "STAGE_SEMANTIC_ID"), ("isNew", "IS_NEW"),
    ("isRecurring", "IS_RECURRING"), ("isReturnCustomer", "IS_RETURN_CUSTOMER"),
    ("isRepeatedApproach", "IS_REPEATED_APPROACH"), ("probability", "PROBABILITY"),
    ("currencyId", "CURRENCY_ID"), ("opportunity", "OPPORTUNITY"),
    ("isManualOpportunity", "IS_MANUAL_OPPORTUNITY"), ("taxValue", "TAX_VALUE"),
    ("companyId", "COMPANY_ID"), ("contactId", "CONTACT_ID"), ("quoteId", "QUOTE_ID"),
    ("begindate", "BEGINDATE"), ("closedate", "CLOSEDATE"), ("opened", "OPENED"),
    ("closed", "CLOSED"), ("comments", "COMMENTS"), ("assignedById", "ASSIGNED_BY_ID"),
    ("createdBy", "CREATED_BY_ID"), ("updatedBy", "MODIFY_BY_ID"),
    ("createdTime", "DATE_CREATE"), ("updatedTime", "DATE_MODIFY"), ("sourceId", "SOURCE_ID"),
    ("sourceDescription", "SOURCE_DESCRIPTION"), ("leadId", "LEAD_ID"),
    ("originatorId", "ORIGINATOR_ID"), ("originId", "ORIGIN_ID"),
    ("utmSource", "UTM_SOURCE"), ("utmMedium", "UTM_MEDIUM"), ("utmCampaign", "UTM_CAMPAIGN"),
    ("utmContent", "UTM_CONTENT"), ("utmTerm", "UTM_TERM"),
    ("lastActivityTime", "LAST_ACTIVITY_TIME"), ("lastActivityBy", "LAST_ACTIVITY_BY"),
)
DEAL_ITEM = Entity("item", "deals", "id", tuple(
    Field(camel, DEAL.by_name[upper].kind, DEAL.by_name[upper].api_type,
          DEAL.by_name[upper].title, column=upper) for camel, upper in _ITEM_NAMES),
    upper_names=False, layout=DEAL)
