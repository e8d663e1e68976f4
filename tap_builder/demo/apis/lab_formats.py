"""The lab API's response formats: CSV, XML, gzip and zip files, downloads.

Served to ``sample_specs/features/lab_formats.yaml``. Every answer is made
from the lab's ten records; the "bomb" answers are small files that unpack to
3 MB, and the "evil" XML declares entities (both must be refused by a tap).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from functools import cache
from xml.sax.saxutils import escape, quoteattr

from tap_builder.demo import lab
from tap_builder.demo.params import int_value
from tap_builder.demo.routing import ApiError, ApiRequest, ApiResponse, Payload

#: Records in one page of ``/items.csv`` and ``/items.xml``.
PAGE = 4
#: Bytes a "bomb" unpacks to.
BOMB_BYTES = 3 * 1024 * 1024


def _note(n: int) -> str:
    return f'says "hi"; n={n}'


def csv_text(items: tuple[lab.Record, ...], delimiter: str = ",") -> str:
    """The lab records as CSV: id, name, kind, amount (empty for item 5), active."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["id", "name", "kind", "amount", "active", "note"])
    for item in items:
        n = item["id"]
        amount = "" if n == 5 else str(item["amount"])
        active = "yes" if item["status"] == "active" else "no"
        writer.writerow([n, item["name"], item["kind"], amount, active, _note(n)])
    return out.getvalue()


def _page(request: ApiRequest) -> tuple[lab.Record, ...]:
    number = int_value(request.arg("page"), "page", 1, (1, 1000))
    return lab.LAB_ITEMS[(number - 1) * PAGE : number * PAGE]


def lab_items_csv(request: ApiRequest) -> ApiResponse:
    """``GET /items.csv?page=``: ``;``-separated, a title row first, gzipped.

    The body is gzip-encoded (``Content-Encoding``) when the client accepts it.
    """
    text = "Lab items export\r\n" + csv_text(_page(request), ";")
    data = text.encode("utf-8")
    headers = [("Content-Type", "text/csv; charset=utf-8")]
    if "gzip" in (request.header("accept-encoding") or ""):
        data = gzip.compress(data, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    return ApiResponse(200, data, tuple(headers))


def _xml_item(item: lab.Record) -> str:
    n = item["id"]
    tags = "".join(f"<tag>t{k}</tag>" for k in range(1, n % 3 + 2))
    return (
        f'<item id="{n}" kind={quoteattr(item["kind"])}>'
        f"<name>{escape(item['name'])}</name>"
        f"<amount>{item['amount']}</amount>{tags}"
        f"<meta updated={quoteattr(item['updated_at'])}/>"
        "</item>"
    )


def lab_items_xml(request: ApiRequest) -> ApiResponse:
    """``GET /items.xml?cursor=``: records at ``catalog.items.item``.

    The next cursor is in ``catalog.next`` (empty on the last page).
    """
    offset = lab.cursor_offset(request.arg("cursor"))
    records = lab.LAB_ITEMS[offset : offset + PAGE]
    following = offset + PAGE if offset + PAGE < len(lab.LAB_ITEMS) else None
    items = "".join(_xml_item(item) for item in records)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<catalog xmlns="urn:lab:catalog">\n'
        f"  <items>{items}</items>\n"
        f"  <next>{lab.cursor_of(following) or ''}</next>\n"
        "</catalog>\n"
    )
    return ApiResponse(200, text.encode(), (("Content-Type", "application/xml"),))


def lab_evil_xml(request: ApiRequest) -> ApiResponse:
    """``GET /evil.xml``: a "billion laughs" document (entity expansion)."""
    del request
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">' for k in range(8)
    )
    text = (
        f'<?xml version="1.0"?><!DOCTYPE catalog [{entities}]>'
        "<catalog><items><item><name>&i;</name></item></items></catalog>"
    )
    return ApiResponse(200, text.encode(), (("Content-Type", "application/xml"),))


def lab_items_gz(request: ApiRequest) -> ApiResponse:
    """``GET /items.csv.gz``: a gzip file holding every record as CSV."""
    del request
    data = gzip.compress(csv_text(lab.LAB_ITEMS).encode(), mtime=0)
    return ApiResponse(200, data, (("Content-Type", "application/gzip"),))


@cache
def _bomb() -> bytes:
    return gzip.compress(b"id\r\n" + b"1\r\n" * (BOMB_BYTES // 3), mtime=0)


def lab_bomb_gz(request: ApiRequest) -> ApiResponse:
    """``GET /bomb.csv.gz``: a few KB that unpack to 3 MB."""
    del request
    return ApiResponse(200, _bomb(), (("Content-Type", "application/gzip"),))


def lab_exports(request: ApiRequest) -> Payload:
    """``GET /exports``: links (relative) to two gzip CSV files."""
    del request
    return {"files": [{"url": f"files/part-{n}.csv.gz"} for n in (1, 2)]}


@cache
def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def lab_file(request: ApiRequest) -> ApiResponse:
    """``GET /files/{name}``: export parts (items 1-6, 7-10) and a zip bomb."""
    name = request.params["name"]
    parts = {"part-1.csv.gz": lab.LAB_ITEMS[:6], "part-2.csv.gz": lab.LAB_ITEMS[6:]}
    if name in parts:
        data = gzip.compress(csv_text(parts[name]).encode(), mtime=0)
        return ApiResponse(200, data, (("Content-Type", "application/gzip"),))
    if name == "bomb.zip":
        data = _zip("bomb.jsonl", b"\n" * BOMB_BYTES)
        return ApiResponse(200, data, (("Content-Type", "application/zip"),))
    raise ApiError(404, f"no file {name!r}")


def lab_exports_signed(request: ApiRequest) -> Payload:
    """``GET /exports-signed``: a link to another host (``localhost``), signed."""
    port = (request.header("host") or "127.0.0.1:80").rpartition(":")[2]
    return {"url": f"http://localhost:{port}/lab/v1/signed/export.zip?sig=s3cr"}


def lab_exports_bomb(request: ApiRequest) -> Payload:
    """``GET /exports-bomb``: a link to a zip file that unpacks to 3 MB."""
    del request
    return {"url": "files/bomb.zip"}


def lab_signed(request: ApiRequest) -> ApiResponse:
    """``GET /signed/export.zip?sig=``: a zip of JSON Lines (items 1-3).

    Open to anyone with the signature; refuses credentials (as storage hosts do).
    """
    if request.arg("sig") != "s3cr":
        raise ApiError(403, "bad signature")
    if request.header("authorization") is not None:
        raise ApiError(400, "credentials must not be sent with a signed URL")
    lines = "".join(json.dumps(dict(item)) + "\n" for item in lab.LAB_ITEMS[:3])
    data = _zip("export.jsonl", lines.encode())
    return ApiResponse(200, data, (("Content-Type", "application/zip"),))


#: Paths of the lab API open without its bearer token.
OPEN_PATHS = ("/signed/export.zip",)
