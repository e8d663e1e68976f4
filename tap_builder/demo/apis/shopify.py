"""Shopify: store in the path, access-token header, page/limit, ``updated_at_min``.

Serves ``sample_specs/shopify.yaml``: ``GET /products.json`` (incremental) and
``GET /orders.json`` (one response).
"""

from __future__ import annotations

from datetime import datetime

from tap_builder.demo.configs import DEMO_SETTINGS
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
from tap_builder.demo.params import int_value, page_slice, since_iso, time_value
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


SHOPIFY_PRODUCTS = _shopify_products()
SHOPIFY_ORDERS = _shopify_orders()


# --------------------------------------------------------------------------- #
# Handlers
# --------------------------------------------------------------------------- #


SHOPIFY_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _shopify_authenticate(request: ApiRequest) -> None:
    settings = DEMO_SETTINGS["shopify"]
    if request.params.get("store") != settings["store_name"]:
        raise ApiError(404, f"no shop named {request.params.get('store')!r}")
    header_auth("X-Shopify-Access-Token", settings["access_token"])(request)


def shopify_products(request: ApiRequest) -> Payload:
    """``GET /products.json``: ``updated_at_min`` (inclusive), page/limit."""
    since = time_value(
        request.arg("updated_at_min"), "updated_at_min", SHOPIFY_TIME_FORMAT
    )
    products = since_iso(SHOPIFY_PRODUCTS, "updated_at", since)
    limit = int_value(request.arg("limit"), "limit", 50, (1, 250))
    page = int_value(request.arg("page"), "page", 1, (1, 10_000))
    return {"products": page_slice(products, page - 1, limit)}


def shopify_orders(request: ApiRequest) -> Payload:
    """``GET /orders.json``: every order line in one response."""
    del request
    return {"orders": list(SHOPIFY_ORDERS)}


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def shopify_openapi() -> Doc:
    """The Shopify-like API's OpenAPI 3.1 document."""
    image = obj({k: integer() for k in ("id", "width", "height")} | {"src": string()})
    image["type"] = ["object", "null"]
    variant = obj(
        {
            "id": integer(),
            "title": string(),
            "sku": string(),
            "price": string(),
            "inventory_quantity": integer(),
        }
    )
    product = obj(
        {
            "id": integer(),
            "title": string(),
            "vendor": string(),
            "product_type": string(),
            "status": string(),
            "tags": string(),
            "created_at": date_time(),
            "updated_at": date_time(),
            "image": image,
            "variants": array(variant),
        }
    )
    line = obj(
        {
            "order_id": integer(
                description="The order; with line_number, identifies the line."
            ),
            "line_number": integer(description="Identifies the line within its order."),
            "product_id": integer(),
            "title": string(),
            "quantity": integer(),
            "price": string(),
            "created_at": date_time(),
        }
    )
    products = [
        param("limit", "query", integer(minimum=1, maximum=250, default=50)),
        param("page", "query", integer(minimum=1, default=1)),
        param("updated_at_min", "query", date_time(), example="2024-01-01T00:00:00Z"),
    ]
    paths = {
        "/products.json": {
            "get": operation(
                "listProducts",
                "List products",
                json_response(obj({"products": array(ref("Product"))})),
                products,
            )
        },
        "/orders.json": {
            "get": operation(
                "listOrderLines",
                "List order lines",
                json_response(obj({"orders": array(ref("OrderLine"))})),
            )
        },
    }
    token = {"type": "apiKey", "in": "header", "name": "X-Shopify-Access-Token"}
    return document(
        "Shopify Admin API",
        "https://{store_name}.myshopify.com/admin/api/2024-01",
        paths,
        schemas={"Product": product, "OrderLine": line},
        security={"AccessToken": token},
        variables={"store_name": {"default": "your-store"}},
        version="3.1.0",
    )


#: The Shopify API: ``{store}`` in the prefix must be the demo store's name.
API: Api = define_api(
    "shopify",
    "/shopify/{store}/admin/api/2024-01",
    _shopify_authenticate,
    route("GET", "/products.json", shopify_products),
    route("GET", "/orders.json", shopify_orders),
    document_route(shopify_openapi),
)
