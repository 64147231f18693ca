"""One parametrised fixture, ``db``, that runs a storage test on both backends: a real SQLite
file and a real PostgreSQL server (a fresh schema per test on the server named by
STANCELAB_TEST_POSTGRES_URL, or on a throw-away cluster started here when initdb exists).
Without either, the PostgreSQL cases skip with the reason in the summary, unless
STANCELAB_REQUIRE_POSTGRES is set (CI), where they fail.
"""

from __future__ import annotations

import itertools
import os
import urllib.parse
from dataclasses import dataclass

import pytest

import pg_cluster
from stancelab.storage import Storage

BACKENDS = ["sqlite", "postgresql"]
_schemas = itertools.count(1)


@dataclass
class PgServer:
    url: str
    cluster: pg_cluster.Cluster | None = None   # known when the tests may restart it

    def admin(self):
        import psycopg
        return psycopg.connect(self.url, autocommit=True)

    def schema_url(self, schema: str) -> str:
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options={urllib.parse.quote(f'-csearch_path={schema}')}"


def _no_server(reason: str):
    if os.environ.get(pg_cluster.REQUIRE_ENV):
        pytest.fail(f"{reason} (and {pg_cluster.REQUIRE_ENV} is set)")
    pytest.skip(f"PostgreSQL tests skipped: {reason}. Install PostgreSQL (apt-get install "
                f"postgresql) or set {pg_cluster.URL_ENV}.")


@pytest.fixture(scope="session")
def pg_server():
    url = os.environ.get(pg_cluster.URL_ENV)
    if url:
        data = os.environ.get(pg_cluster.DATA_ENV)
        yield PgServer(url, pg_cluster.cluster_of(data) if data else None)
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _no_server("psycopg is not installed (pip install -e '.[test]')")
    if pg_cluster.bin_dir() is None:
        _no_server(f"no {pg_cluster.URL_ENV} and no initdb")
    cluster = pg_cluster.temp_cluster()
    try:
        yield PgServer(cluster.url, cluster)
    finally:
        cluster.destroy()


@dataclass
class Db:
    """Where a test's database is: ``target`` is what ``Storage(target)`` opens (a file path or
    a postgresql:// URL), the same string a child process gets."""

    kind: str
    target: str
    server: PgServer | None = None
    schema: str | None = None

    def open(self, **kw) -> Storage:
        return Storage(self.target, **kw)


def _pg_db(server: PgServer):
    schema = f"test_{os.getpid()}_{next(_schemas)}"
    with server.admin() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Db("postgresql", server.schema_url(schema), server, schema)
    finally:
        with server.admin() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    if request.param == "sqlite":
        yield Db("sqlite", str(tmp_path / "db.sqlite3"))
    else:
        yield from _pg_db(request.getfixturevalue("pg_server"))


@pytest.fixture
def pg_db(pg_server):
    """A PostgreSQL database only (tests of the server itself)."""
    yield from _pg_db(pg_server)
