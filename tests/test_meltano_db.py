"""Meltano into real databases: ``meltano run`` loads generated taps into DuckDB
(embedded) and PostgreSQL (a throwaway cluster), twice.

One Meltano project serves the module: the generated tap-openlib folder itself
(its ``meltano.yml`` is a ready project, as its README says), with tap-clinic
(parent-child) and tap-shopify (nested objects, arrays, a composite key) added by
``meltano add --plugin-type extractor --from-ref``. The loaders are exactly the
generated definitions; their settings come from the environment as a user's
would. The checks, per warehouse: the tables and their exact row counts, column
types (timestamps, decimals, objects, arrays), values, and that the second run
upserts by primary key: no duplicates, and only the rows the APIs re-delivered
(the inclusive incremental filters send the boundary records again) are updated,
in place. ``books`` has no primary key: each run appends its 13 rows.

The loaders' virtual environments are cached in ``.cache/meltano-loaders``, one
per ``pip_url`` (Meltano installs into them through a symlink, and reuses them
while its fingerprint of the requirements matches).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import venv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from tap_builder import generate
from tap_builder.demo import DemoServer, demo_config
from tests.e2e import REPO, SAMPLES, pip
from tests.pg import PostgresCluster, postgres_cluster
from tests.test_meltano import MELTANO

pytestmark = pytest.mark.slow

#: The project is this tap's generated folder; the others are added to it.
PROJECT_TAP = "openlib"
ADDED_TAPS = ("clinic", "shopify")
TAPS = (*ADDED_TAPS, PROJECT_TAP)
LOADERS = ("target-duckdb", "target-postgres")

#: Primary keys of the loaded tables (``books`` has none).
KEYS: dict[str, tuple[str, ...]] = {
    "tap_clinic.clients": ("id",),
    "tap_clinic.medical_forms": ("id",),
    "tap_clinic.appointments": ("id",),
    "tap_shopify.products": ("id",),
    "tap_shopify.orders": ("order_id", "line_number"),
    "tap_openlib.books": (),
    "tap_openlib.subjects": ("name",),
}
ROWS_AFTER_FIRST_RUN = {
    "tap_clinic.clients": 7,
    "tap_clinic.medical_forms": 10,
    "tap_clinic.appointments": 8,
    "tap_shopify.products": 10,
    "tap_shopify.orders": 6,
    "tap_openlib.books": 13,
    "tap_openlib.subjects": 7,
}
ROWS_AFTER_SECOND_RUN = ROWS_AFTER_FIRST_RUN | {"tap_openlib.books": 26}
BOOK_KEYS = [f"OL{number}W" for number in range(101, 114)]
#: What the second run loads again: full-table streams whole, incremental ones
#: only from their bookmarks on (inclusive: the boundary records come again).
RELOADED_BY_SECOND_RUN: dict[str, list[Any]] = {
    "tap_clinic.clients": list(range(1, 8)),
    "tap_clinic.medical_forms": [9002, 9003, 9006, 9007, 9009, 9010],
    "tap_clinic.appointments": list(range(7001, 7009)),
    "tap_shopify.products": [8100000010],
    "tap_shopify.orders": [
        [4501, 1],
        [4501, 2],
        [4502, 1],
        [4502, 2],
        [4502, 3],
        [4503, 1],
    ],
    "tap_openlib.books": BOOK_KEYS,
    "tap_openlib.subjects": sorted(
        [
            "science_fiction",
            "fantasy",
            "dystopia",
            "space_opera",
            "cyberpunk",
            "first_contact",
            "time_travel",
        ]
    ),
}

# Column types as (PostgreSQL, DuckDB) for each JSON Schema type.
INTEGER = ("bigint", "HUGEINT")
STRING = ("text", "VARCHAR")
DATE_TIME = ("timestamp without time zone", "TIMESTAMP")
NUMBER = ("numeric", "DOUBLE")
BOOLEAN = ("boolean", "BOOLEAN")
OBJECT = ("jsonb", "JSON")
OBJECT_ARRAY = ("jsonb[]", "JSON")
#: Every column but the loaders' own ``_sdc_*`` ones; child streams get their
#: parent's context (client_id, clinic_code) as columns.
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "tap_clinic.clients": {
        "id": INTEGER,
        "name": STRING,
        "email": STRING,
        "clinic": OBJECT,
        "created_at": DATE_TIME,
    },
    "tap_clinic.medical_forms": {
        "id": INTEGER,
        "form_type": STRING,
        "status": STRING,
        "updated_at": DATE_TIME,
        "client_id": INTEGER,
        "clinic_code": STRING,
    },
    "tap_clinic.appointments": {
        "id": INTEGER,
        "client_id": INTEGER,
        "starts_at": DATE_TIME,
        "duration_minutes": INTEGER,
        "practitioner": STRING,
        "status": STRING,
        "clinic_code": STRING,
    },
    "tap_shopify.products": {
        "id": INTEGER,
        "title": STRING,
        "vendor": STRING,
        "product_type": STRING,
        "status": STRING,
        "tags": STRING,
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "image": OBJECT,
        "variants": OBJECT_ARRAY,
    },
    "tap_shopify.orders": {
        "order_id": INTEGER,
        "line_number": INTEGER,
        "product_id": INTEGER,
        "title": STRING,
        "quantity": INTEGER,
        "price": STRING,
        "created_at": DATE_TIME,
    },
    "tap_openlib.books": {
        "key": STRING,
        "title": STRING,
        "subtitle": STRING,
        "first_publish_year": INTEGER,
        "rating": NUMBER,
        "price": NUMBER,
        "in_print": BOOLEAN,
    },
    "tap_openlib.subjects": {
        "name": STRING,
        "work_count": INTEGER,
        "popular": BOOLEAN,
    },
}

#: Values read back: a nested object, a timestamp (UTC, from "...Z"), a child's
#: parent-context columns, an array of objects, a null object, and decimals.
#: The SQL differs per warehouse (JSON access), the answers do not.
VALUES_SQL = {
    "postgres": {
        "client": "SELECT clinic->>'code' AS code, clinic->>'name' AS clinic,"
        " CAST(created_at AS VARCHAR) AS created_at"
        " FROM tap_clinic.clients WHERE id = 2",
        "form": "SELECT CAST(updated_at AS VARCHAR) AS updated_at, client_id,"
        " clinic_code FROM tap_clinic.medical_forms WHERE id = 9003",
        "product": "SELECT CAST(updated_at AS VARCHAR) AS updated_at,"
        " CAST(image->>'width' AS INTEGER) AS width,"
        " cardinality(variants) AS variants, variants[1]->>'sku' AS sku,"
        " variants[1]->>'price' AS price"
        " FROM tap_shopify.products WHERE id = 8100000001",
        # A null object stays a JSON null (jsonb 'null'), not SQL NULL.
        "without_image": "SELECT id FROM tap_shopify.products"
        " WHERE image = 'null'::jsonb",
        "books": "SELECT CAST(sum(price) AS VARCHAR) AS price,"
        " CAST(max(rating) AS VARCHAR) AS rating FROM tap_openlib.books",
    },
    "duckdb": {
        "client": "SELECT json_extract_string(clinic, '$.code') AS code,"
        " json_extract_string(clinic, '$.name') AS clinic,"
        " CAST(created_at AS VARCHAR) AS created_at"
        " FROM tap_clinic.clients WHERE id = 2",
        "form": "SELECT CAST(updated_at AS VARCHAR) AS updated_at, client_id,"
        " clinic_code FROM tap_clinic.medical_forms WHERE id = 9003",
        "product": "SELECT CAST(updated_at AS VARCHAR) AS updated_at,"
        " CAST(json_extract(image, '$.width') AS INTEGER) AS width,"
        " CAST(json_array_length(variants) AS INTEGER) AS variants,"
        " json_extract_string(variants, '$[0].sku') AS sku,"
        " json_extract_string(variants, '$[0].price') AS price"
        " FROM tap_shopify.products WHERE id = 8100000001",
        # A null object is SQL NULL here.
        "without_image": "SELECT id FROM tap_shopify.products WHERE image IS NULL",
        # DOUBLE: rounded to cents for the comparison.
        "books": "SELECT CAST(round(sum(price), 2) AS VARCHAR) AS price,"
        " CAST(max(rating) AS VARCHAR) AS rating FROM tap_openlib.books",
    },
}
VALUES_AFTER_FIRST_RUN = {
    "client": [
        {
            "code": "SOUTH",
            "clinic": "South Park Clinic",
            "created_at": "2023-09-28 00:00:00",
        }
    ],
    "form": [
        {"updated_at": "2024-01-02 10:30:00", "client_id": 2, "clinic_code": "SOUTH"}
    ],
    "product": [
        {
            "updated_at": "2024-01-05 10:00:00",
            "width": 800,
            "variants": 3,
            "sku": "SKU-8100000001-S",
            "price": "12.00",
        }
    ],
    "without_image": [{"id": 8100000006}],
    # 13 prices 7.99 + 1.25 * i: exactly 201.37 as numeric.
    "books": [{"price": "201.37", "rating": "4.9"}],
}


class Warehouse(Protocol):
    """Where a loader wrote: answers SQL queries, by name, as rows of JSON."""

    dialect: str

    def query(self, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]: ...


class DuckDBWarehouse:
    """The DuckDB file, read by the target's own duckdb package in a subprocess."""

    dialect = "duckdb"

    #: Runs the queries read-only and prints {name: rows} as JSON.
    SCRIPT = """
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
answers = {}
for name, sql in json.loads(sys.argv[2]).items():
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    answers[name] = [dict(zip(names, row)) for row in cursor.fetchall()]
print(json.dumps(answers, default=str))
"""

    def __init__(self, project: Path) -> None:
        self.python = project / ".meltano/loaders/target-duckdb/venv/bin/python"
        self.path = project / "output" / "warehouse.duckdb"

    def query(self, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        result = subprocess.run(
            [str(self.python), "-c", self.SCRIPT, str(self.path), json.dumps(queries)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        answers: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
        return answers


class PostgresWarehouse:
    """A database of the test cluster, read by the superuser with psql."""

    dialect = "postgres"

    def __init__(self, cluster: PostgresCluster, database: str) -> None:
        self.cluster = cluster
        self.database = database

    def query(self, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        return {
            name: self.cluster.query(sql, database=self.database)
            for name, sql in queries.items()
        }


# --------------------------------------------------------------------------- #
# Meltano
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def meltano() -> Path:
    """The meltano executable, from the venv tests/test_meltano.py caches too."""
    root = Path(
        os.environ.get("TAP_BUILDER_MELTANO_VENV", REPO / ".cache" / "meltano-venv")
    )
    marker = root / "requirements.txt"
    if not (marker.exists() and marker.read_text() == MELTANO):
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        pip(root, "install", MELTANO)
        marker.write_text(MELTANO)
    return root / "bin" / "meltano"


def _meltano(
    meltano: Path, project: Path, *args: str, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(
        [str(meltano), *args],
        cwd=project,
        env={
            **os.environ,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_COLOR": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"meltano {' '.join(args)}:\n{result.stderr[-6000:]}"
    return result.stdout


def _cache_loader_venvs(project: Path) -> None:
    """Point the loaders' venv folders at venvs cached per ``pip_url``."""
    cache = Path(
        os.environ.get(
            "TAP_BUILDER_MELTANO_LOADERS", REPO / ".cache" / "meltano-loaders"
        )
    )
    loaders = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    for loader in loaders["loaders"]:
        if loader["name"] not in LOADERS:
            continue
        digest = hashlib.sha256(loader["pip_url"].encode()).hexdigest()[:16]
        cached = cache / f"{loader['name']}-{digest}"
        cached.mkdir(parents=True, exist_ok=True)
        (cached.parent / f"{cached.name}.requirement").write_text(loader["pip_url"])
        link = project / ".meltano" / "loaders" / loader["name"] / "venv"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(cached, target_is_directory=True)


@pytest.fixture(scope="module")
def project(meltano: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated tap-openlib folder as a Meltano project, plus two taps."""
    root = tmp_path_factory.mktemp("meltano-db")
    _, project, _ = generate(SAMPLES / f"{PROJECT_TAP}.yaml", root / "project")
    _cache_loader_venvs(project)
    _meltano(meltano, project, "install", f"tap-{PROJECT_TAP}", *LOADERS)
    for stem in ADDED_TAPS:
        _, package, _ = generate(SAMPLES / f"{stem}.yaml", root / f"tap-{stem}")
        plugins = yaml.safe_load((package / "meltano.yml").read_text())["plugins"]
        ref = root / f"tap-{stem}.yml"
        ref.write_text(
            yaml.safe_dump(plugins["extractors"][0] | {"pip_url": str(package)})
        )
        _meltano(
            meltano,
            project,
            "add",
            "--plugin-type",
            "extractor",
            f"tap-{stem}",
            "--from-ref",
            str(ref),
        )
    plugins = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    assert set(plugins) == {"extractors", "loaders"}, "no stray plugin types"
    assert [p["name"] for p in plugins["extractors"]] == [
        f"tap-{PROJECT_TAP}",
        *(f"tap-{stem}" for stem in ADDED_TAPS),
    ]
    # target-duckdb's file goes to output/, which the project does not ship.
    (project / "output").mkdir()
    return project


def _run(
    meltano: Path, project: Path, loader: str, server: DemoServer, env: dict[str, str]
) -> None:
    """One ``meltano run`` with a tap -> loader block per tap."""
    settings = {
        f"TAP_{stem.upper()}_{key.upper()}": str(value)
        for stem in TAPS
        for key, value in demo_config(stem, server.url).items()
    }
    blocks = [name for stem in TAPS for name in (f"tap-{stem}", loader)]
    _meltano(meltano, project, "run", *blocks, env=settings | env)


# --------------------------------------------------------------------------- #
# Checks shared by both warehouses
# --------------------------------------------------------------------------- #


def _key_columns(table: str) -> tuple[str, ...]:
    return KEYS[table] or ("key",)


def _key(row: dict[str, Any], table: str) -> Any:
    values = [row[column] for column in _key_columns(table)]
    return values[0] if len(values) == 1 else values


def _counts(warehouse: Warehouse) -> dict[str, int]:
    answers = warehouse.query(
        {table: f"SELECT count(*) AS n FROM {table}" for table in KEYS}  # noqa: S608
    )
    return {table: int(rows[0]["n"]) for table, rows in answers.items()}


def _distinct_keys(warehouse: Warehouse) -> dict[str, int]:
    answers = warehouse.query(
        {
            table: f"SELECT count(*) AS n FROM"  # noqa: S608
            f" (SELECT DISTINCT {', '.join(_key_columns(table))} FROM {table}) AS k"
            for table in KEYS
        }
    )
    return {table: int(rows[0]["n"]) for table, rows in answers.items()}


def _last_batch(warehouse: Warehouse) -> str:
    """The newest ``_sdc_batched_at`` of any table, as the warehouse writes it."""
    newest = " UNION ALL ".join(
        f"SELECT max(_sdc_batched_at) AS b FROM {table}"  # noqa: S608
        for table in KEYS
    )
    rows = warehouse.query(
        {"last": f"SELECT CAST(max(b) AS VARCHAR) AS b FROM ({newest}) AS m"}  # noqa: S608
    )["last"]
    last: str = rows[0]["b"]
    return last


def _loaded_since(warehouse: Warehouse, moment: str) -> dict[str, list[Any]]:
    """Per table, the keys of the rows written (inserted or updated) after moment."""
    answers = warehouse.query(
        {
            table: f"SELECT {', '.join(_key_columns(table))} FROM {table}"  # noqa: S608
            f" WHERE _sdc_batched_at > CAST('{moment}' AS TIMESTAMP)"
            for table in KEYS
        }
    )
    return {
        table: sorted(
            (_key(row, table) for row in rows),
            key=lambda key: key if isinstance(key, list) else [key],
        )
        for table, rows in answers.items()
    }


def _check_primary_keys(warehouse: Warehouse) -> None:
    """The tables with a key have it as their PRIMARY KEY constraint."""
    sql = {
        "postgres": "SELECT tc.table_schema || '.' || tc.table_name AS t,"
        " kcu.column_name AS c, kcu.ordinal_position AS p"
        " FROM information_schema.table_constraints AS tc"
        " JOIN information_schema.key_column_usage AS kcu"
        " ON kcu.constraint_name = tc.constraint_name"
        " AND kcu.table_schema = tc.table_schema"
        " WHERE tc.constraint_type = 'PRIMARY KEY'"
        " AND tc.table_schema LIKE 'tap%'",
        "duckdb": "SELECT schema_name || '.' || table_name AS t,"
        " unnest(constraint_column_names) AS c,"
        " generate_subscripts(constraint_column_names, 1) AS p"
        " FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'",
    }[warehouse.dialect]
    rows = warehouse.query({"keys": sql})["keys"]
    found: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda row: (row["t"], int(row["p"]))):
        found.setdefault(row["t"], []).append(row["c"])
    assert found == {table: list(keys) for table, keys in KEYS.items() if keys}


def _check_columns(warehouse: Warehouse) -> None:
    sql = {
        "postgres": "SELECT n.nspname || '.' || c.relname AS t, a.attname AS c,"
        " format_type(a.atttypid, a.atttypmod) AS type"
        " FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        " AND n.nspname LIKE 'tap%' AND left(a.attname, 5) <> '_sdc_'",
        "duckdb": "SELECT table_schema || '.' || table_name AS t, column_name AS c,"
        " data_type AS type FROM information_schema.columns"
        " WHERE left(column_name, 5) <> '_sdc_'",
    }[warehouse.dialect]
    rows = warehouse.query({"columns": sql})["columns"]
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["t"], {})[row["c"]] = row["type"]
    index = 0 if warehouse.dialect == "postgres" else 1
    expected = {
        table: {column: types[index] for column, types in columns.items()}
        for table, columns in COLUMNS.items()
    }
    assert found == expected


def _load_twice(
    warehouse: Warehouse, run: Callable[[], None], *, metadata_type: str
) -> None:
    """Both runs and every check; ``run()`` performs one ``meltano run``."""
    run()
    assert _counts(warehouse) == ROWS_AFTER_FIRST_RUN
    _check_columns(warehouse)
    _check_primary_keys(warehouse)
    assert warehouse.query(VALUES_SQL[warehouse.dialect]) == VALUES_AFTER_FIRST_RUN
    batched_type = {
        "postgres": "SELECT pg_typeof(_sdc_batched_at)::text AS type"
        " FROM tap_clinic.clients LIMIT 1",
        "duckdb": "SELECT typeof(_sdc_batched_at) AS type"
        " FROM tap_clinic.clients LIMIT 1",
    }[warehouse.dialect]
    assert warehouse.query({"t": batched_type})["t"] == [{"type": metadata_type}]
    first_run = _last_batch(warehouse)

    run()
    assert _counts(warehouse) == ROWS_AFTER_SECOND_RUN
    distinct = _distinct_keys(warehouse)
    assert distinct == ROWS_AFTER_FIRST_RUN, "one row per primary key"
    assert _loaded_since(warehouse, first_run) == RELOADED_BY_SECOND_RUN
    # books has no primary key: its 13 rows are there twice.
    assert distinct["tap_openlib.books"] == 13


# --------------------------------------------------------------------------- #
# The tests
# --------------------------------------------------------------------------- #


def test_meltano_run_into_duckdb_twice(
    meltano: Path, project: Path, demo_server: DemoServer
) -> None:
    """target-duckdb with its generated defaults: output/warehouse.duckdb."""
    warehouse = DuckDBWarehouse(project)

    def run() -> None:
        _run(meltano, project, "target-duckdb", demo_server, {})

    _load_twice(warehouse, run, metadata_type="TIMESTAMP")
    assert warehouse.path.is_file()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    """A cluster with a ``warehouse`` database owned by the ``loader`` role."""
    with postgres_cluster() as cluster:
        cluster.psql("CREATE ROLE loader LOGIN PASSWORD 'loader-secret'")
        cluster.psql("CREATE DATABASE warehouse OWNER loader")
        yield cluster


def test_meltano_run_into_postgres_twice(
    meltano: Path, project: Path, demo_server: DemoServer, postgres: PostgresCluster
) -> None:
    """target-postgres configured from the environment, over TCP with a password."""
    warehouse = PostgresWarehouse(postgres, "warehouse")
    env = {
        "TARGET_POSTGRES_HOST": postgres.host,
        "TARGET_POSTGRES_PORT": str(postgres.port),
        "TARGET_POSTGRES_USER": "loader",
        "TARGET_POSTGRES_PASSWORD": "loader-secret",
        "TARGET_POSTGRES_DATABASE": "warehouse",
    }

    def run() -> None:
        _run(meltano, project, "target-postgres", demo_server, env)

    _load_twice(warehouse, run, metadata_type="timestamp without time zone")
    owners = warehouse.query(
        {
            "owners": "SELECT DISTINCT tableowner AS owner FROM pg_tables"
            " WHERE schemaname LIKE 'tap%'"
        }
    )
    assert owners == {"owners": [{"owner": "loader"}]}
