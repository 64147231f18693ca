"""Which calibration applies to a board, and the one way one is saved: the database.

Calibrations live in the database only: sessions already reference their calibration by id,
and a clinic's stations will share one database, so a board calibrated at one station is
calibrated at all of them. :func:`calibration_for` is the one place that decides which applies:
the newest saved for the board id, else nominal gains (usable for a first look, flagged as
approximate). The simulated board is calibrated on first use by the same procedure a builder
follows (:mod:`stancelab.station.calibrate`, the mass moved by :class:`stancelab.sim.factory.Rig`),
so the demo never runs on nominal gains.

StanceLab 0.1 kept calibrations as JSON files in ``<data dir>/calibrations/board-<id>/``. The
first time a store is used for calibrations they are imported (idempotent by calibration id)
and each file is renamed to ``*.json.imported`` (an unreadable one to ``*.json.unreadable``),
left in place but never imported again.
"""

from __future__ import annotations

import json
from pathlib import Path

from stancelab import calibration as cal
from stancelab import paths
from stancelab.board.source import SourceState
from stancelab.station.calibrate import CalibrationProcedure, Verdict
from stancelab.storage import StorageError

LEGACY_DIR = "calibrations"
IMPORTED_SUFFIX = ".imported"
UNREADABLE_SUFFIX = ".unreadable"


def calibration_for(store, state: SourceState, *, calibrate_simulated: bool = True
                    ) -> cal.Calibration:
    """The calibration to use for the board ``state`` describes.

    ``calibrate_simulated=False`` (the calibrate command, about to calibrate it itself) gives a
    simulated board without a saved calibration the nominal one instead."""
    import_legacy_files(store)
    saved = store.latest_calibration(state.board_id)
    if saved is not None:
        return saved
    if state.kind == "simulated" and calibrate_simulated:
        from stancelab.sim.factory import Rig

        rig = Rig(board_id=state.board_id)
        try:
            verdict = calibrate_on_rig(rig)
        finally:
            rig.close()
        save_accepted(store, verdict)
        return verdict.calibration
    return cal.default_calibration(state.board_id, state.firmware)


def calibrate_on_rig(rig, base: cal.Calibration | None = None) -> Verdict:
    """The procedure run on a virtual board by its rig (``sim.factory.Rig``)."""
    st = rig.source.state
    base = base or cal.default_calibration(st.board_id, st.firmware)
    verdict = CalibrationProcedure(base, front=rig).run()
    if verdict is None or not verdict.accepted:
        raise cal.CalibrationError("the simulated board failed its own calibration ("
                                   f"{verdict.reason if verdict else 'stopped'}); report this")
    return verdict


def save_accepted(store, verdict: Verdict | None) -> str:
    """Store an accepted verdict's calibration; returns its id. A refused one is never saved."""
    if verdict is None or not verdict.accepted or verdict.calibration is None:
        reason = verdict.reason if verdict is not None else "the calibration did not finish"
        raise cal.CalibrationError(f"not saved: {reason}")
    import_legacy_files(store)
    return store.save_calibration(verdict.calibration)


def import_legacy_files(store, data_dir: Path | None = None) -> int:
    """Import 0.1's JSON calibration files into ``store``; returns how many were new."""
    root = (data_dir or paths.data_dir()) / LEGACY_DIR
    if not root.is_dir():
        return 0
    # File names begin with the creation time and a nanosecond counter: oldest first, so two
    # calibrations made within the same second keep their order in the database too.
    files = sorted((p for d in root.iterdir() if d.is_dir()
                    and (d.name.startswith("board-") or d.name == "unknown-board")
                    for p in d.glob("*.json")), key=lambda p: p.name)
    new = 0
    for path in files:
        try:
            c = cal.Calibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue           # another program imported it a moment ago
        except (OSError, ValueError, KeyError, TypeError):
            _mark(path, UNREADABLE_SUFFIX)
            continue
        if not _stored(store, c.id):
            store.save_calibration(c)
            new += 1
        _mark(path, IMPORTED_SUFFIX)
    return new


def _stored(store, calibration_id: str) -> bool:
    try:
        store.calibration(calibration_id)
    except StorageError:
        return False
    return True


def _mark(path: Path, suffix: str) -> None:
    try:
        path.rename(path.with_name(path.name + suffix))
    except OSError:
        pass                   # read-only folder: importing again is harmless (by id)
