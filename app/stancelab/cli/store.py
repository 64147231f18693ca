"""The database as every command opens it: recordings a crash left open are recovered first.

Which database: the clinic server named by STANCELAB_DATABASE_URL if set, else the SQLite file
in the data directory (storage/backends.py).
"""

from __future__ import annotations

import sys

from stancelab.cli.errors import UserError


def open_store(target=None):
    """The configured database (or ``target``: a path or a postgresql:// URL)."""
    from stancelab.storage import Storage, StorageError

    try:
        store = Storage(target)
    except StorageError as e:
        raise UserError(str(e)) from None
    for trial_id, n in store.recovered_spools:
        print(f"Moved {n} samples of trial {trial_id} that were kept on this station while "
              f"the server was away to {store.backend.location}.", file=sys.stderr)
    for rec in store.recover_interrupted():
        print(f"Recovered an interrupted recording: trial {rec.trial_id} of session "
              f"{rec.session_id}, {rec.samples} samples kept.", file=sys.stderr)
    return store
