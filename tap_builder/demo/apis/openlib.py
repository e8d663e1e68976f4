"""Open library: no auth, offset/limit in headers, a numeric ``next``.

Serves ``sample_specs/openlib.yaml``: ``GET /books`` and ``GET /subjects``.
"""

from __future__ import annotations

from tap_builder.demo.configs import API_PREFIXES
from tap_builder.demo.params import int_value
from tap_builder.demo.routing import (
    Api,
    ApiRequest,
    Payload,
    Record,
    define_api,
    no_auth,
    route,
)

# --------------------------------------------------------------------------- #
# Data
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


OPENLIB_BOOKS = _openlib_books()
OPENLIB_SUBJECTS = _openlib_subjects()


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


def openlib_books(request: ApiRequest) -> Payload:
    """``GET /books``: ``X-Offset``/``X-Limit`` headers, ``next`` offset or null."""
    offset = int_value(request.header("x-offset"), "X-Offset", 0, (0, 1_000_000))
    limit = int_value(request.header("x-limit"), "X-Limit", 10, (1, 100))
    books = OPENLIB_BOOKS
    following = offset + limit if offset + limit < len(books) else None
    return {"items": list(books[offset : offset + limit]), "next": following}


def openlib_subjects(request: ApiRequest) -> Payload:
    """``GET /subjects``: every subject in one response."""
    del request
    return {"subjects": list(OPENLIB_SUBJECTS)}


#: The open library API: no credentials at all.
API: Api = define_api(
    "openlib",
    API_PREFIXES["openlib"],
    no_auth,
    route("GET", "/books", openlib_books),
    route("GET", "/subjects", openlib_subjects),
)
