"""The database as every command opens it: recordings a crash left open are recovered first."""

from __future__ import annotations

import sys

from stancelab.cli.errors import UserError


def open_store():
    from stancelab.storage import Storage, StorageError

    try:
        store = Storage()
    except StorageError as e:
        raise UserError(str(e)) from None
    for rec in store.recover_interrupted():
        print(f"Recovered an interrupted recording: trial {rec.trial_id} of session "
              f"{rec.session_id}, {rec.samples} samples kept.", file=sys.stderr)
    return store
