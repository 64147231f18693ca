"""Sessions out of the Storage into CSV files, and raw CSV files back in as new sessions.

The only module of stancelab.files that imports the database: the format, the reader and the
writer work on arrays and plain values, so the replay board and the analysis command read a
raw CSV without opening a database. An export reads each trial and its samples once; the
summary CSV is made from what the raw file was made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stancelab.files.csv_format import ATHLETE_FIELDS, CsvFormatError
from stancelab.files.csv_parse import read_raw_csv
from stancelab.files.csv_write import (
    PLAIN,
    Dialect,
    Progress,
    derived_columns,
    safe_filename,
    write_raw_csv,
    write_summary_csv,
)
from stancelab.storage import SampleArrays, Storage, now_iso

_TRIAL_KEYS = ("drill", "leg", "condition", "settings", "status", "reason", "started", "ended",
               "metrics")


def export_session(store: Storage, session_id: int, folder: str | Path, *,
                   trial_ids: Sequence[int] | None = None,
                   athlete_fields: Sequence[str] = (), analysis: dict | None = None,
                   min_load_n: float = 50.0, progress: Progress | None = None,
                   stem: str | None = None, raw_path: str | Path | None = None,
                   summary_path: str | Path | None = None,
                   dialect: Dialect = PLAIN) -> tuple[Path, Path | None]:
    """Raw CSV (all or the chosen trials of a session) and its per-trial summary CSV.
    ``dialect`` csv_write.SPREADSHEET writes them for decimal-comma spreadsheets (files named
    ``..._excel.csv`` when the folder names them).

    Files are ``<folder>/<stem>_raw.csv`` and ``_summary.csv`` unless ``raw_path`` names the
    raw file exactly (then the summary is written only to ``summary_path``, if given).
    Athlete fields go into the file only when named in ``athlete_fields`` (privacy)."""
    folder = Path(folder) if folder is not None else Path(raw_path).parent
    folder.mkdir(parents=True, exist_ok=True)
    s = store.session(session_id)
    if stem is None:
        who = store.athlete(s.athlete_id).name if s.athlete_id is not None else "session"
        stem = f"{safe_filename(who)}_{safe_filename(s.started[:10], 'date')}_s{session_id}"
    else:
        stem = safe_filename(stem, "session")
    calibration = _session_calibration(store, s)
    unknown = set(athlete_fields) - set(ATHLETE_FIELDS)
    if unknown:
        raise ValueError(f"unknown athlete fields {sorted(unknown)}; choose from {ATHLETE_FIELDS}")
    if trial_ids is None:
        trials = store.trials(session_id)
    else:
        trials = [store.trial(tid) for tid in trial_ids]
    parts = [store.read_samples(t.id) for t in trials]
    counts = [len(p) for p in parts]
    meta = _session_metadata(store, s, trials, counts, athlete_fields, analysis, min_load_n,
                             calibration)
    samples = _concat(parts)
    trial = np.repeat(np.arange(1, len(parts) + 1, dtype=np.int64), counts) if parts else \
        np.zeros(0, np.int64)
    derived = derived_columns(samples.counts, calibration, min_load_n)
    if raw_path is None:
        raw_path = folder / f"{stem}_raw{dialect.suffix}.csv"
        summary_path = folder / f"{stem}_summary{dialect.suffix}.csv"
    raw = write_raw_csv(raw_path, meta, trial, samples, derived, progress, dialect)
    summary = None
    if summary_path is not None:
        summary = write_summary_csv(summary_path, trials, counts,
                                    {k: v for k, v in meta.items()
                                     if not k.startswith("trial.")}, dialect)
    return raw, summary


def export_summary(store: Storage, trials: Sequence, path: str | Path,
                   metadata: dict | None = None, dialect: Dialect = PLAIN) -> Path:
    """The summary CSV of stored trials (e.g. all of an athlete's); only their row counts are
    asked of the database, no samples are read."""
    return write_summary_csv(path, trials, [store.sample_count(t.id) for t in trials],
                             metadata, dialect)


def _session_metadata(store: Storage, s, trials: Sequence, counts: Sequence[int],
                      athlete_fields: Sequence[str], analysis: dict | None,
                      min_load_n: float, calibration) -> dict:
    meta = {"exported": now_iso(), "session_started": s.started, "source_kind": s.source_kind,
            "recorded_app_version": s.app_version, "board_id": s.board_id,
            "firmware": s.firmware, "session_notes": s.notes,
            "calibration": calibration.to_dict() if calibration is not None else None,
            "min_load_n": min_load_n, "analysis": analysis or {}}
    if athlete_fields and s.athlete_id is not None:
        a = store.athlete(s.athlete_id)
        for name in athlete_fields:
            meta[f"athlete.{name}"] = getattr(a, name)
    meta["trials"] = len(trials)
    for number, (t, n) in enumerate(zip(trials, counts), 1):
        for key in _TRIAL_KEYS:
            meta[f"trial.{number}.{key}"] = getattr(t, key)
        # The row count lets import notice a file cut off exactly at a line end.
        meta[f"trial.{number}.samples"] = n
    return meta


def _session_calibration(store: Storage, s):
    from stancelab.calibration import default_calibration
    if s.calibration_id:
        return store.calibration(s.calibration_id)
    return default_calibration(s.board_id, s.firmware)


def _concat(parts: list[SampleArrays]) -> SampleArrays:
    if not parts:
        return SampleArrays.empty()
    return SampleArrays(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                          ("seq", "t_s", "t_host_s", "counts", "status", "phase", "target")))


def import_raw_csv(store: Storage, path: str | Path, athlete_id: int | None = None) -> int:
    """Validate the whole file, then write it as a new session in one transaction."""
    from stancelab.calibration import Calibration
    data = read_raw_csv(path, derived=False)
    meta = data.metadata
    cal = meta.get("calibration")
    try:
        calibration = Calibration.from_dict(cal) if cal else None
    except (KeyError, TypeError, ValueError) as e:
        raise CsvFormatError(f"{path}: the calibration metadata line is not valid ({e}).") \
            from None
    numbers = data.trial_numbers()
    declared = meta.get("trials")
    if declared is not None and any(n > declared for n in numbers):
        raise CsvFormatError(f"{path}: rows belong to trial {max(numbers)} but the header "
                             f"describes {declared} trials.")
    with store.transaction():
        if athlete_id is None and isinstance(meta.get("athlete.name"), str):
            fields = {k.split(".", 1)[1]: v for k, v in meta.items()
                      if k.startswith("athlete.") and k != "athlete.name"}
            athlete_id = store.get_or_add_athlete(meta["athlete.name"], **fields).id
        session = store.start_session(
            athlete_id=athlete_id, source_kind=str(meta.get("source_kind") or "import"),
            board_id=meta.get("board_id"), firmware=meta.get("firmware"),
            calibration=calibration, notes=meta.get("session_notes") or "",
            started=meta.get("session_started"),
            app_version=str(meta.get("recorded_app_version") or meta.get("app_version")))
        for number in range(1, (declared or max(numbers, default=0)) + 1):
            def t(key, default=None, number=number):
                return meta.get(f"trial.{number}.{key}", default)
            status = t("status", "completed")
            trial = store.start_trial(session.id, t("drill") or "unknown", leg=t("leg"),
                                      condition=t("condition"), settings=t("settings") or {},
                                      status="recording", started=t("started"))
            store.insert_samples(trial.id, data.trial_samples(number))
            if t("metrics"):
                store.update_metrics(trial.id, t("metrics"))
            store.finish_trial(trial.id, "interrupted" if status == "recording" else status,
                               t("reason"), t("ended"))
    return session.id


