"""Vocabulary and cheap text helpers for the demo data: names, companies, products, prices.

Split from :mod:`.demo` to keep each module readable; nothing here is random on its own.
"""

from __future__ import annotations

import datetime as _dt
import random
from typing import Any


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TZ = "+03:00"
START = _dt.date(2025, 5, 1)
#: Unix time of the period's start, midnight in the portal's zone (``iso(0)``)
START_TS = _dt.datetime(2025, 5, 1, tzinfo=_dt.timezone(_dt.timedelta(hours=3))).timestamp()
SPAN_DAYS = 548  # about 18 months, ending 2026-10-31
DAY = 86_400
N_USERS = 12  # employees: ASSIGNED_BY_ID, userId, responsibleId

RU_MALE = words("Иван Алексей Дмитрий Сергей Андрей Михаил Николай Павел Артём Максим Егор Олег "
                  "Владимир Константин Роман Игорь Юрий Денис Евгений Тимур")
RU_FEMALE = words("Анна Мария Елена Ольга Наталья Татьяна Ирина Светлана Екатерина Юлия Дарья "
                    "Ксения Алина Полина Виктория Марина")
RU_LAST = words("Иванов Петров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров "
                  "Морозов Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев "
                  "Орлов Андреев Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев "
                  "Романов Воробьёв Сергеев Фролов Белов Медведев Тарасов Беляев Комаров Киселев")
EN_FIRST = words("John Emily Michael Sarah David Laura James Anna Thomas Julia Peter Maria Lukas "
                   "Sophie Daniel Emma Oliver Hannah Jonas Lena")
EN_LAST = words("Smith Johnson Brown Miller Wilson Taylor Anderson Thompson Müller Schmidt "
                  "Schneider Fischer Weber Wagner Becker Hoffmann Dubois Martin Rossi Nowak")
KZ_FIRST = words("Айдар Нурлан Ержан Асель Динара Алия Бауыржан Гульнара Серик Жанна")
KZ_LAST = words("Нурланов Сейтказиев Ахметов Абенов Жумабаев Исмаилов Касымов Токаев")

TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))

COMPANY_RU = words("Ромашка Вектор Альфа Техносервис Северсталь-Трейд Горизонт Меридиан "
                     "Стройинвест Эталон Прогресс Сфера Импульс Гранит Каскад Восход Лидер "
                     "Оптима Интеграл")
COMPANY_FORMS = ("ООО", "АО", "ИП", "ЗАО")
COMPANY_EN = words("Acme Globex Initech Umbrella Northwind Contoso Fabrikam Stark Wayne "
                     "Tyrell Hooli Vandelay")
PRODUCTS_RU = ("Кофемашина DeLonghi", "Ноутбук Lenovo ThinkPad", "Офисные кресла",
                "Сервер Dell R740", "Лицензии 1С", "Кондиционер Daikin", "Принтер HP LaserJet",
                "Мебель для офиса", "Монитор Samsung 27\"", "Смартфоны Samsung",
                "Обучение персонала", "Внедрение CRM", "Техобслуживание", "Видеонаблюдение",
                "Стеллажи складские", "Кассовое оборудование", "Сетевое оборудование Cisco",
                "Упаковка и тара", "Спецодежда", "Бытовая химия оптом")
PRODUCTS_EN = ("Coffee machines", "Laptops", "Office chairs", "Server rack", "Software licences",
                "Air conditioning", "Printers", "Office furniture", "Monitors", "Training",
                "CRM rollout", "Maintenance contract")
# Catalogue prices make amounts collide on purpose: the matcher must not trust amount alone.
CATALOGUE = {
    "RUB": (4990.0, 9990.0, 14990.0, 19990.0, 24990.0, 29990.0, 49990.0, 79990.0, 99990.0,
            149990.0, 1990.0, 2990.0),
    "USD": (99.0, 199.0, 299.0, 499.0, 999.0, 1499.0),
    "EUR": (89.0, 179.0, 249.0, 449.0, 899.0, 1290.0),
    "KZT": (29990.0, 49990.0, 99990.0, 149990.0, 249990.0),
}
CURRENCIES = ("RUB",) * 80 + ("USD",) * 7 + ("EUR",) * 7 + ("KZT",) * 6
MAIL_RU = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "ya.ru")
MAIL_EN = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "icloud.com")
STAGES_OPEN = ("NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE")
DELIVERY = {"RUB": (300.0, 350.0, 500.0, 990.0), "USD": (15.0, 25.0), "EUR": (9.9, 19.0),
             "KZT": (1500.0, 2500.0)}

TRANSLIT_CACHE: dict[str, str] = {}


def translit(text: str) -> str:
    """Cyrillic → Latin, as people spell their names in e-mail addresses (memoised: few names)."""
    out = TRANSLIT_CACHE.get(text)
    if out is None:
        out = TRANSLIT_CACHE[text] = "".join(TRANSLIT.get(ch, ch) for ch in text.lower())
    return out


class FastRandom(random.Random):
    """``random.Random`` with cheap ``randrange``/``choice`` built on ``random()``.

    The stdlib versions draw exact uniform integers bit by bit (≈ 1 µs each); demo data needs
    neither exactness nor cryptographic care, and 200,000 deals must generate in seconds.
    Still fully determined by the seed.
    """

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

    def choice(self, seq: Any) -> Any:  # type: ignore[override]
        return seq[int(self.random() * len(seq))]


DAY_STR = [(START + _dt.timedelta(days=d)).isoformat() for d in range(SPAN_DAYS + 30)]
DAY_RU = [f"{s[8:10]}.{s[5:7]}.{s[0:4]}" for s in DAY_STR]


DAY_T = [f"{d}T" for d in DAY_STR]
HHMM = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
SS_TZ = [f"{s:02d}{TZ}" for s in range(60)]


def iso(t: int) -> str:
    """Seconds since the start of the demo period → ISO 8601 with offset.

    Table look-ups instead of strftime: this runs for every record (≈ 700,000 at scale).
    """
    d, s = divmod(t, DAY)
    m, s = divmod(s, 60)
    return DAY_T[d] + HHMM[m] + SS_TZ[s]


def fmt_phone(digits: str, style: int) -> str:
    """Write a phone the way people type it; ``digits`` is the full international number."""
    if digits[0] != "7" or len(digits) != 11:  # foreign: fewer styles
        return "+" + digits if style % 2 else f"+{digits[:-10]} {digits[-10:-7]} {digits[-7:]}"
    n = digits[1:]
    a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
    return (
        f"+7 ({a}) {b}-{c}-{d}",
        "8" + n,
        "+7" + n,
        f"8 {a} {b} {c} {d}",
        f"8 ({a}) {b}-{c}-{d}",
        f"7-{a}-{b}-{c}{d}",
        f"+7 {a} {b}{c}{d}",
        f"{a} {b}-{c}-{d}",
    )[style % 8]


# What web shops and CRM users title deals when nobody types a product (issue 10).
GENERIC_TITLES = ("Website purchase", "Repeat purchase", "Deal {n}", "Консультация",
                  "Заявка с сайта", "Сделка #{n}", "New deal", "Покупка", "Order request",
                  "Повторная продажа")


def office_ref(acc: int, style: int, day_ru: str, title: str) -> str:
    """A title citing order ``acc`` the way offices write it (issue 10's formats)."""
    return (f"ORD-{acc:06d} {title}".strip(), f"Счёт № {acc} от {day_ru}",
            f"КП-{acc} {title}".strip(), f"{title} №{acc}".strip(),
            f"{title} #{acc}".strip())[style % 5]
