"""This station's database setting, as `stancelab db use` / `db show` and the app's Settings
screen change and say it (one home for both)."""

from __future__ import annotations

import os

from stancelab import paths
from stancelab.storage.backends import (
    DATABASE_URL_ENV,
    configured_target,
    has_password,
    is_server_url,
    open_backend,
    save_url,
    saved_url,
    setting_path,
)
from stancelab.storage.records import StorageError
from stancelab.storage.store import Storage


def use_server(url: str | None) -> str:
    """Set this station's server (what ``stancelab db use URL`` and the app's Settings do),
    or with None go back to the station's own file. A URL is checked first: no password in
    it, the server reachable, its schema brought up to date (a Storage opened and closed);
    nothing is saved when any of that fails (StorageError). Returns where the station now
    points, as messages name it. STANCELAB_DATABASE_URL, when set, still wins."""
    if url is None:
        save_url(None)
        return str(paths.database_path())
    url = url.strip()
    if not is_server_url(url):
        raise StorageError(f"Give a postgresql:// URL, not {url!r}.", "invalid")
    if has_password(url):
        save_url(url)          # refuses it, in the one wording
    with Storage(url) as store:
        where = store.backend.location
    save_url(url)
    return where


def setting_said() -> tuple[str, str]:
    """(where this station's data goes, why: the environment, the saved setting or none)."""
    target = configured_target()
    where = open_backend(target).location      # names it; does not connect
    if os.environ.get(DATABASE_URL_ENV, "").strip():
        why = f"from {DATABASE_URL_ENV}, which overrides the station's setting"
    elif saved_url():
        why = f"set with `stancelab db use` ({setting_path()})"
    else:
        why = "this station's own file (no server set)"
    return where, why
