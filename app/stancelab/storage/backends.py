"""Which database to open: a clinic's PostgreSQL server or the laptop's own SQLite file.

``STANCELAB_DATABASE_URL=postgresql://user@host/db`` (or ``postgres://``) selects the server for
every command and the app; else the station's setting (``stancelab db use URL``, kept in
``database-url.txt`` in the data directory); else StanceLab uses its SQLite file in the data
directory. A password never belongs in that URL, and the setting refuses one: libpq reads it
from ``~/.pgpass``, a service file (``postgresql:///?service=clinic``) or ``PGPASSWORD``
(docs/clinic.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from stancelab import paths
from stancelab.storage.records import StorageError
from stancelab.storage.sqlite_backend import DEFAULT_BUSY_TIMEOUT_S, SqliteBackend

DATABASE_URL_ENV = "STANCELAB_DATABASE_URL"
SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(target) -> bool:
    return isinstance(target, str) and target.lower().startswith(SERVER_SCHEMES)


def setting_path() -> Path:
    return paths.data_dir() / "database-url.txt"


def saved_url() -> str | None:
    """The server this station was set to use (``stancelab db use``), if any."""
    try:
        url = setting_path().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return url or None


def has_password(url: str) -> bool:
    """Does the URL carry a password (``user:secret@`` or ``password=``)?"""
    import urllib.parse

    try:
        if urllib.parse.urlsplit(url).password:
            return True
    except ValueError:
        pass
    query = urllib.parse.urlsplit(url).query if "?" in url else ""
    return any(k.lower() == "password" for k, _ in urllib.parse.parse_qsl(query))


def without_password(url: str) -> str:
    """The URL with its ``user:secret@`` and ``password=`` parts taken out (to show again)."""
    import re

    url = re.sub(r"(://[^:/?#@\s]*):[^@\s]*@", r"\1@", url)
    url = re.sub(r"([?&])password=[^&]*&?", r"\1", url, flags=re.IGNORECASE)
    return url.rstrip("?&")


def save_url(url: str | None) -> None:
    """Set (or with None clear) the station's server. A URL with a password is refused: the
    app never keeps a password in plain text."""
    path = setting_path()
    if url is None:
        path.unlink(missing_ok=True)
        return
    if not is_server_url(url):
        raise StorageError(f"{url!r} is not a postgresql:// URL.", "invalid")
    if has_password(url):
        raise StorageError("The URL holds a password; StanceLab does not keep passwords. Put "
                           "it in ~/.pgpass (or a service file) and give the URL without it.",
                           "invalid")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(url + "\n", encoding="utf-8")
    os.replace(tmp, path)


def configured_target() -> str | Path:
    """What ``Storage()`` opens: STANCELAB_DATABASE_URL, else the station's saved server,
    else the SQLite file."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    return url or saved_url() or paths.database_path()


def open_backend(target=None, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S):
    """A backend for a path (SQLite), a ``postgresql://`` URL, or None (the configured one)."""
    if target is None:
        target = configured_target()
    if is_server_url(target):
        # Imported here: psycopg is only needed by a station that talks to a server (the
        # `clinic` extra), never by a laptop on SQLite.
        try:
            from stancelab.storage.postgres_backend import PostgresBackend
        except ImportError as e:
            raise StorageError(
                f"A PostgreSQL server was asked for, but this StanceLab is installed without "
                f"its driver ({e}). Install it with: pip install 'stancelab[clinic]'",
                "invalid") from None
        return PostgresBackend(target, busy_timeout_s)
    return SqliteBackend(target, busy_timeout_s)

