"""Open library: no auth, offset/limit in headers, a numeric ``next``.

Serves ``sample_specs/openlib.yaml``: ``GET /books`` and ``GET /subjects``.
"""

from __future__ import annotations

from tap_builder.demo.configs import API_PREFIXES
from tap_builder.demo.openapi import (
    Doc,
    document_route,
)
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


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def openlib_openapi() -> Doc:
    """The book catalog's Swagger 2.0 document (paging in request headers)."""
    book = {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "title": {"type": "string"},
            "subtitle": {"type": "string", "x-nullable": True},
            "first_publish_year": {"type": "integer"},
            "rating": {"type": "number"},
            "price": {"type": "number"},
            "in_print": {"type": "boolean"},
        },
    }
    subject = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Unique subject name."},
            "work_count": {"type": "integer"},
            "popular": {"type": "boolean"},
        },
    }
    books = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/definitions/Book"}},
            "next": {
                "type": "integer",
                "x-nullable": True,
                "description": "The X-Offset of the next page; null after the last.",
            },
        },
    }
    headers = [
        {"name": "X-Offset", "in": "header", "type": "integer", "minimum": 0},
        {
            "name": "X-Limit",
            "in": "header",
            "type": "integer",
            "maximum": 100,
            "default": 10,
        },
    ]
    subjects = {
        "type": "object",
        "properties": {
            "subjects": {"type": "array", "items": {"$ref": "#/definitions/Subject"}}
        },
    }
    return {
        "swagger": "2.0",
        "info": {"title": "Open Library Catalog API", "version": "1.0.0"},
        "host": "api.openlib.example.org",
        "basePath": "/v1",
        "schemes": ["https"],
        "produces": ["application/json"],
        "paths": {
            "/books": {
                "get": {
                    "operationId": "listBooks",
                    "parameters": headers,
                    "responses": {"200": {"description": "OK", "schema": books}},
                }
            },
            "/subjects": {
                "get": {
                    "operationId": "listSubjects",
                    "responses": {"200": {"description": "OK", "schema": subjects}},
                }
            },
        },
        "definitions": {"Book": book, "Subject": subject},
    }


#: The open library API: no credentials at all.
API: Api = define_api(
    "openlib",
    API_PREFIXES["openlib"],
    no_auth,
    route("GET", "/books", openlib_books),
    route("GET", "/subjects", openlib_subjects),
    document_route(openlib_openapi),
)
