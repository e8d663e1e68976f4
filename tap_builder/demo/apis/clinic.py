"""Clinic: bearer header, bare-list parent with offset/limit, child routes.

Serves ``sample_specs/clinic.yaml``: ``GET /clients`` and, per client,
``/medical-forms`` (``X-Updated-Since`` header) and ``/appointments``
(``X-Clinic`` header).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tap_builder.demo.configs import API_PREFIXES, DEMO_SETTINGS
from tap_builder.demo.data import at, iso
from tap_builder.demo.openapi import (
    Doc,
    array,
    date_time,
    document,
    document_route,
    integer,
    json_response,
    obj,
    operation,
    param,
    ref,
    string,
)
from tap_builder.demo.params import int_value, since_iso, time_value
from tap_builder.demo.routing import (
    Api,
    ApiError,
    ApiRequest,
    Payload,
    Record,
    define_api,
    header_auth,
    route,
)

# --------------------------------------------------------------------------- #
# Data
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


CLINIC_CLIENTS = _clinic_clients()
#: Medical forms by client id; the records themselves carry no client_id.
CLINIC_FORMS = _clinic_forms()
#: Appointments by client id; each record carries its own client_id.
CLINIC_APPOINTMENTS = _clinic_appointments()


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


CLINIC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def clinic_clients(request: ApiRequest) -> Payload:
    """``GET /clients``: a bare JSON list, offset/limit."""
    offset = int_value(request.arg("offset"), "offset", 0, (0, 1_000_000))
    limit = int_value(request.arg("limit"), "limit", 20, (1, 100))
    return list(CLINIC_CLIENTS[offset : offset + limit])


def _clinic_client(request: ApiRequest) -> Record:
    raw = request.params["client_id"]
    client = next((c for c in CLINIC_CLIENTS if str(c["id"]) == raw), None)
    if client is None:
        raise ApiError(404, f"no client {raw!r}")
    return client


def clinic_medical_forms(request: ApiRequest) -> Payload:
    """``GET /clients/{id}/medical-forms``: ``X-Updated-Since`` header (inclusive)."""
    client = _clinic_client(request)
    since = time_value(
        request.header("x-updated-since"), "X-Updated-Since", CLINIC_TIME_FORMAT
    )
    forms = since_iso(CLINIC_FORMS[client["id"]], "updated_at", since)
    return {"data": forms, "total": len(forms)}


def clinic_appointments(request: ApiRequest) -> Payload:
    """``GET /clients/{id}/appointments``: ``X-Clinic`` names the clinic."""
    client = _clinic_client(request)
    code, sent = client["clinic"]["code"], request.header("x-clinic")
    if sent != code:
        message = f"X-Clinic must be {code!r} for client {client['id']}, got {sent!r}"
        raise ApiError(400, message)
    return {"appointments": list(CLINIC_APPOINTMENTS[client["id"]])}


_FORMS = "/clients/{client_id}/medical-forms"
_APPOINTMENTS = "/clients/{client_id}/appointments"
_CLINIC_BEARER = f"Bearer {DEMO_SETTINGS['clinic']['access_token']}"


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def clinic_openapi() -> Doc:
    """The clinic API's OpenAPI 3.0 document (links bind the children)."""
    client = obj(
        {
            "id": integer(),
            "name": string(),
            "email": string(),
            "clinic": obj({"code": string(), "name": string()}),
            "created_at": date_time(),
        }
    )
    form = obj(
        {
            "id": integer(),
            "form_type": string(),
            "status": string(),
            "updated_at": date_time(),
        }
    )
    appointment = obj(
        {
            "id": integer(),
            "client_id": integer(),
            "starts_at": date_time(),
            "duration_minutes": integer(),
            "practitioner": string(),
            "status": string(),
        }
    )
    links = {
        "MedicalForms": {
            "operationId": "listMedicalForms",
            "parameters": {"client_id": "$response.body#/0/id"},
        },
        "Appointments": {
            "operationId": "listAppointments",
            "parameters": {
                "client_id": "$response.body#/0/id",
                "X-Clinic": "$response.body#/0/clinic/code",
            },
        },
    }
    client_id = param("client_id", "path", integer(), required=True)
    since = param(
        "X-Updated-Since",
        "header",
        date_time(),
        "Forms updated since.",
        example="2024-01-01T00:00:00",
    )
    clinic = param(
        "X-Clinic", "header", string(), "The client's clinic code.", required=True
    )
    paging = [
        param("offset", "query", integer(minimum=0, default=0)),
        param("limit", "query", integer(minimum=1, maximum=100, default=20)),
    ]
    paths = {
        "/clients": {
            "get": operation(
                "listClients",
                "List clients",
                json_response(array(ref("Client")), links=links),
                paging,
            )
        },
        _FORMS: {
            "get": operation(
                "listMedicalForms",
                "A client's medical forms",
                json_response(
                    obj({"data": array(ref("MedicalForm")), "total": integer()})
                ),
                [client_id, since],
            )
        },
        _APPOINTMENTS: {
            "get": operation(
                "listAppointments",
                "A client's appointments",
                json_response(obj({"appointments": array(ref("Appointment"))})),
                [client_id, clinic],
            )
        },
    }
    return document(
        "Clinic Desk API",
        "https://api.clinicdesk.example.com/v1",
        paths,
        schemas={"Client": client, "MedicalForm": form, "Appointment": appointment},
        security={"bearerAuth": {"type": "http", "scheme": "bearer"}},
    )


#: The clinic API: a bearer token in ``Authorization``.
API: Api = define_api(
    "clinic",
    API_PREFIXES["clinic"],
    header_auth("Authorization", _CLINIC_BEARER),
    route("GET", "/clients", clinic_clients),
    route("GET", _FORMS, clinic_medical_forms),
    route("GET", _APPOINTMENTS, clinic_appointments),
    document_route(clinic_openapi),
)
