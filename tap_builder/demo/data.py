"""Deterministic datasets served by the demo API server.

Every timestamp is a fixed offset from :data:`BASE_TIME` (2024-01-01T00:00:00Z),
never the clock, so syncs and tests see the same records every time. Records are
listed in ascending replication-key order per parent, and every incremental
dataset ends with a couple of "late" records (after 2024-01-15) so a sync from a
bookmark, or from ``start_date`` 2024-01-15T00:00:00Z, returns a strict subset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

Record = dict[str, Any]

#: Every demo timestamp is an offset from this instant.
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
#: A start_date that only the late records of every incremental dataset pass.
LATE_CUTOFF = "2024-01-15T00:00:00Z"


def at(days: int = 0, hours: float = 0) -> datetime:
    """An instant ``days`` and ``hours`` after :data:`BASE_TIME`.

    Args:
        days: Whole days to add.
        hours: Hours to add (fractions give minutes).

    Returns:
        The aware UTC datetime.
    """
    return BASE_TIME + timedelta(days=days, hours=hours)


def iso(moment: datetime) -> str:
    """Format an instant as ISO-8601 with a ``Z`` suffix (second precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(moment: datetime) -> int:
    """Format an instant as Unix seconds."""
    return int(moment.timestamp())


# --------------------------------------------------------------------------- #
# Aircall
# --------------------------------------------------------------------------- #


def _aircall_calls() -> tuple[Record, ...]:
    moments = [at(hours=6 * index) for index in range(10)]
    moments += [at(days=30, hours=9), at(days=31, hours=14.5)]
    return tuple(_call(index, moment) for index, moment in enumerate(moments))


def _call(index: int, moment: datetime) -> Record:
    answered = index % 4 != 3
    return {
        "id": 1001 + index,
        "direction": "inbound" if index % 2 == 0 else "outbound",
        "status": "done",
        "started_at": unix(moment),
        "duration": 30 + 17 * index if answered else 0,
        "raw_digits": f"+33 1 23 45 67 {index:02d}",
        "missed_call_reason": None if answered else "no_available_agent",
    }


_AIRCALL_USER_NAMES = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Ken Thompson",
)


def _aircall_users() -> tuple[Record, ...]:
    return tuple(
        {
            "id": 501 + index,
            "name": name,
            "email": name.lower().replace(" ", ".") + "@example.com",
            "available": index % 3 != 2,
            "language": "en-US" if index % 2 == 0 else "fr-FR",
            "created_at": iso(at(days=-30 + index)),
        }
        for index, name in enumerate(_AIRCALL_USER_NAMES)
    )


# --------------------------------------------------------------------------- #
# Chargebee
# --------------------------------------------------------------------------- #

# (first name, last name, company, hours after BASE_TIME of the last update)
_CHARGEBEE_PEOPLE = (
    ("John", "Doe", "Acme Inc", 30),
    ("Jane", "Roe", None, 12),
    ("Carlos", "Diaz", "Diaz & Co", 54),
    ("Mei", "Chen", "Lotus Labs", 6),
    ("Ali", "Khan", None, 42),
    ("Olga", "Ivanova", "Volga Trade", 18),
    ("Kwame", "Mensah", "Accra Goods", 48),
    ("Sofia", "Rossi", None, 24),
    ("Liam", "Murphy", "Cliffs Ltd", 800),
    ("Aiko", "Sato", "Sakura KK", 760),
)


def _chargebee_customers() -> tuple[Record, ...]:
    return tuple(
        _customer(index, person) for index, person in enumerate(_CHARGEBEE_PEOPLE)
    )


def _customer(index: int, person: tuple[str, str, str | None, int]) -> Record:
    first, last, company, updated_hours = person
    updated_at = unix(at(hours=updated_hours))
    return {
        "id": f"cust_{index + 1:03d}",
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "company": company,
        "auto_collection": "on" if index % 3 else "off",
        "created_at": unix(at(days=-60 + index)),
        "updated_at": updated_at,
        "resource_version": updated_at * 1000,
        "deleted": False,
    }


# --------------------------------------------------------------------------- #
# Shopify
# --------------------------------------------------------------------------- #

_SHOPIFY_TITLES = (
    "Classic Tee",
    "Hoodie",
    "Beanie",
    "Canvas Tote",
    "Water Bottle",
    "Sticker Pack",
    "Notebook",
    "Enamel Mug",
    "Limited Poster",
    "Gift Card",
)


def _shopify_products() -> tuple[Record, ...]:
    moments = [at(days=4, hours=10 + 7 * index) for index in range(8)]
    moments += [at(days=60, hours=12), at(days=61, hours=8.5)]
    return tuple(
        _product(index, title, moment)
        for index, (title, moment) in enumerate(
            zip(_SHOPIFY_TITLES, moments, strict=True)
        )
    )


def _product(index: int, title: str, moment: datetime) -> Record:
    product_id = 8_100_000_001 + index
    image = {
        "id": 9_100_000_001 + index,
        "src": f"https://cdn.example.com/products/{product_id}.png",
        "width": 800,
        "height": 600,
    }
    return {
        "id": product_id,
        "title": title,
        "vendor": "Demo Store",
        "product_type": "Merch" if index % 2 == 0 else "Accessories",
        "status": "active" if index != 6 else "draft",
        "tags": "demo, sale" if index % 3 == 0 else "demo",
        "created_at": iso(at(days=-10 + index)),
        "updated_at": iso(moment),
        "image": None if index == 5 else image,
        "variants": [
            _variant(product_id, position, size, index)
            for position, size in enumerate(_sizes(index), start=1)
        ],
    }


def _sizes(index: int) -> tuple[str, ...]:
    return ("S", "M", "L") if index < 2 else ("One size",)


def _variant(product_id: int, position: int, size: str, index: int) -> Record:
    return {
        "id": product_id * 10 + position,
        "title": size,
        "sku": f"SKU-{product_id}-{size.replace(' ', '').upper()}",
        "price": f"{12 + 3 * index}.{index * 7 % 100:02d}",
        "inventory_quantity": (index * 13) % 40,
    }


# (order id, line number, product index, quantity)
_SHOPIFY_ORDER_LINES = (
    (4501, 1, 0, 2),
    (4501, 2, 2, 1),
    (4502, 1, 1, 1),
    (4502, 2, 3, 3),
    (4502, 3, 7, 1),
    (4503, 1, 9, 1),
)


def _shopify_orders() -> tuple[Record, ...]:
    return tuple(_order_line(*line) for line in _SHOPIFY_ORDER_LINES)


def _order_line(order_id: int, line_number: int, product: int, quantity: int) -> Record:
    return {
        "order_id": order_id,
        "line_number": line_number,
        "product_id": 8_100_000_001 + product,
        "title": _SHOPIFY_TITLES[product],
        "quantity": quantity,
        "price": f"{12 + 3 * product}.00",
        "created_at": iso(at(days=6, hours=order_id - 4490)),
    }


# --------------------------------------------------------------------------- #
# Clinic (parent-child)
# --------------------------------------------------------------------------- #

_CLINIC_NAMES = (
    "Alice Martin",
    "Bruno Silva",
    "Chloe Dubois",
    "Dmitri Petrov",
    "Elena Garcia",
    "Farid Haddad",
    "Greta Larsen",
)
_CLINICS = {"NORTH": "North Street Clinic", "SOUTH": "South Park Clinic"}


def _clinic_clients() -> tuple[Record, ...]:
    return tuple(_client(index, name) for index, name in enumerate(_CLINIC_NAMES))


def _client(index: int, name: str) -> Record:
    code = "NORTH" if index % 2 == 0 else "SOUTH"
    return {
        "id": index + 1,
        "name": name,
        "email": name.lower().replace(" ", ".") + "@example.org",
        "clinic": {"code": code, "name": _CLINICS[code]},
        "created_at": iso(at(days=-100 + 5 * index)),
    }


# (client id, form type, status, days, hours) in ascending updated_at per client.
_CLINIC_FORMS = (
    (1, "intake", "completed", 1, 9),
    (1, "consent", "completed", 40, 8),
    (2, "intake", "completed", 1, 10.5),
    (3, "intake", "completed", 2, 9),
    (3, "allergies", "pending", 2, 15),
    (3, "consent", "completed", 42, 11),
    (5, "intake", "pending", 3, 9),
    (6, "intake", "completed", 3, 12),
    (6, "allergies", "completed", 4, 8),
    (7, "intake", "completed", 4, 16.75),
)


def _clinic_forms() -> Mapping[int, tuple[Record, ...]]:
    forms: dict[int, list[Record]] = {client["id"]: [] for client in CLINIC_CLIENTS}
    for index, (client_id, kind, status, days, hours) in enumerate(_CLINIC_FORMS):
        forms[client_id].append(
            {
                "id": 9001 + index,
                "form_type": kind,
                "status": status,
                "updated_at": iso(at(days=days, hours=hours)),
            }
        )
    return MappingProxyType({key: tuple(value) for key, value in forms.items()})


# (client id, days, hours, duration in minutes, practitioner)
_CLINIC_APPOINTMENTS = (
    (1, 5, 9, 30, "Dr. Novak"),
    (2, 5, 10, 45, "Dr. Okafor"),
    (2, 12, 14, 30, "Dr. Okafor"),
    (3, 6, 9.5, 30, "Dr. Novak"),
    (4, 6, 11, 60, "Dr. Okafor"),
    (6, 7, 8, 15, "Dr. Okafor"),
    (7, 7, 13, 30, "Dr. Novak"),
    (7, 14, 13, 30, "Dr. Novak"),
)


def _clinic_appointments() -> Mapping[int, tuple[Record, ...]]:
    found: dict[int, list[Record]] = {client["id"]: [] for client in CLINIC_CLIENTS}
    for index, (client_id, days, hours, minutes, who) in enumerate(
        _CLINIC_APPOINTMENTS
    ):
        found[client_id].append(
            {
                "id": 7001 + index,
                "client_id": client_id,
                "starts_at": iso(at(days=days, hours=hours)),
                "duration_minutes": minutes,
                "practitioner": who,
                "status": "booked" if days > 6 else "attended",
            }
        )
    return MappingProxyType({key: tuple(value) for key, value in found.items()})


# --------------------------------------------------------------------------- #
# Helpdesk
# --------------------------------------------------------------------------- #

_HELPDESK_CLOSED = frozenset({303, 307, 311, 313})
_HELPDESK_LATE = {312: at(days=50, hours=10), 314: at(days=51, hours=9.25)}


def _helpdesk_tickets() -> tuple[Record, ...]:
    return tuple(_ticket(index) for index in range(14))


def _ticket(index: int) -> Record:
    ticket_id = 301 + index
    updated = _HELPDESK_LATE.get(ticket_id, at(days=1, hours=3 * index))
    return {
        "id": ticket_id,
        "subject": f"Ticket #{ticket_id}: printer on floor {index % 5 + 1} is jammed",
        "status": "closed" if ticket_id in _HELPDESK_CLOSED else "open",
        "priority": ("low", "normal", "high")[index % 3],
        "requester": {
            "name": f"Requester {index + 1}",
            "email": f"requester{index + 1}@example.net",
        },
        "tags": ["hardware", "printer"] if index % 2 == 0 else ["hardware"],
        "created_at": iso(at(hours=2 * index)),
        "updated_at": iso(updated),
    }


# --------------------------------------------------------------------------- #
# Open library (no auth)
# --------------------------------------------------------------------------- #

_BOOK_TITLES = (
    "The Left Hand of Darkness",
    "Dune",
    "Neuromancer",
    "Kindred",
    "Solaris",
    "The Dispossessed",
    "Foundation",
    "Hyperion",
    "Snow Crash",
    "The Fifth Season",
    "Ubik",
    "Parable of the Sower",
    "Roadside Picnic",
)


def _openlib_books() -> tuple[Record, ...]:
    return tuple(_book(index, title) for index, title in enumerate(_BOOK_TITLES))


def _book(index: int, title: str) -> Record:
    return {
        "key": f"OL{101 + index}W",
        "title": title,
        "subtitle": None if index % 3 else f"A novel, volume {index // 3 + 1}",
        "first_publish_year": 1951 + 5 * index,
        "rating": round(3.5 + (index * 37 % 15) / 10, 2),
        "price": round(7.99 + 1.25 * index, 2),
        "in_print": index % 4 != 2,
    }


_SUBJECTS = (
    ("science_fiction", 1200),
    ("fantasy", 950),
    ("dystopia", 310),
    ("space_opera", 270),
    ("cyberpunk", 140),
    ("first_contact", 95),
    ("time_travel", 180),
)


def _openlib_subjects() -> tuple[Record, ...]:
    return tuple(
        {"name": name, "work_count": count, "popular": count >= 300}
        for name, count in _SUBJECTS
    )


AIRCALL_CALLS = _aircall_calls()
AIRCALL_USERS = _aircall_users()
CHARGEBEE_CUSTOMERS = _chargebee_customers()
SHOPIFY_PRODUCTS = _shopify_products()
SHOPIFY_ORDERS = _shopify_orders()
CLINIC_CLIENTS = _clinic_clients()
#: Medical forms by client id; the records themselves carry no client_id.
CLINIC_FORMS = _clinic_forms()
#: Appointments by client id; each record carries its own client_id.
CLINIC_APPOINTMENTS = _clinic_appointments()
HELPDESK_TICKETS = _helpdesk_tickets()
OPENLIB_BOOKS = _openlib_books()
OPENLIB_SUBJECTS = _openlib_subjects()
