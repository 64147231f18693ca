"""Copying a laptop's database to the clinic server (`stancelab db migrate --to URL`).

Ids differ between databases (each station's server rows get the server's ids), so the copy
maps them: athletes by name (case-insensitive, as names are unique; an athlete the server
already has keeps the server's fields), calibrations by their own id, and each session by its
``origin``, ``<database_id>:<session id>`` of the database it was first recorded in (schema 3).
A session goes over in one server transaction with its trials, their summary numbers and
samples (COPY), so a copy cut off anywhere leaves whole sessions only; running it again skips
every session the server already has. Training plans follow (schema 4): a plan is the same plan
when its athlete, ``started`` and ``created`` times and spec match, and its plan sessions point
at the server's copies of the sessions they were recorded in. :func:`count_rows` then counts, on
both sides, the rows that came from the laptop.

Every table and column of the laptop's database must be one this module knows
(:data:`HANDLED`): a schema change that adds one refuses the copy (:func:`check_covered`) until
the copy learns it, rather than leaving data behind without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stancelab.storage.records import StorageError
from stancelab.storage.samples import SAMPLE_COLUMNS

#: Every table of the schema and its columns, as the copy handles them. Columns not copied
#: are the server's own (ids it assigns, row versions it counts); the two tables not copied
#: describe the database itself, and each database keeps its own.
HANDLED: dict[str, tuple[str, ...]] = {
    "athletes": ("id", "name", "foot_length_mm", "shoe_size", "dominant_leg", "injured_side",
                 "notes", "settings", "created", "row_version"),
    "calibrations": ("id", "board_id", "data", "created", "firmware"),
    "sessions": ("id", "athlete_id", "started", "board_id", "firmware", "calibration_id",
                 "source_kind", "app_version", "notes", "origin"),
    "trials": ("id", "session_id", "drill", "leg", "condition", "settings", "status",
               "reason", "started", "ended", "metrics", "heartbeat_unix", "sample_count"),
    "trial_metrics": ("trial_id", "key", "value"),
    "samples": SAMPLE_COLUMNS,
    "plans": ("id", "athlete_id", "started", "spec", "status", "created"),
    "plan_sessions": ("plan_id", "number", "session_id", "done"),
    "plan_steps": ("plan_id", "number", "step", "name", "leg", "session_id", "done"),
    "schema_version": ("version", "description", "applied"),
    "stancelab_info": ("key", "value"),
}


def check_covered(src) -> None:
    """Refuse a laptop database with a table or column the copy does not know."""
    unknown = []
    for (table,) in src._q("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                           "name NOT LIKE 'sqlite_%' ORDER BY name"):
        cols = [c for (c,) in src._q("SELECT name FROM pragma_table_info(?)", (table,))]
        if table not in HANDLED:
            unknown.append(f"table {table}")
        else:
            unknown += [f"{table}.{c}" for c in cols if c not in HANDLED[table]]
    if unknown:
        raise StorageError(
            f"{src.backend.location} has data this StanceLab cannot copy to a server yet "
            f"({', '.join(unknown)}); nothing was copied. Update StanceLab on this laptop "
            f"(a version whose `db migrate` knows them) and run the command again.", "invalid")


@dataclass
class CopyReport:
    sessions_copied: int = 0
    sessions_already_there: int = 0
    athletes_added: int = 0
    athletes_matched: int = 0
    samples_copied: int = 0
    plans_copied: int = 0
    plans_already_there: int = 0
    plans_ended: list[str] = field(default_factory=list)    # athletes with an active plan
    skipped_recording: list[int] = field(default_factory=list)   # local trials still open


def database_id(store) -> str:
    rows = store._q("SELECT value FROM stancelab_info WHERE key = 'database_id'")
    if not rows:
        raise StorageError(f"{store.backend.location} has no database id (schema before 3).")
    return rows[0][0]


def _origins(src) -> dict[int, str]:
    prefix = database_id(src)
    return {sid: origin or f"{prefix}:{sid}"
            for sid, origin in src._q("SELECT id, origin FROM sessions ORDER BY id")}


def copy_database(src, dst, progress: Callable[[int, int], None] | None = None) -> CopyReport:
    """Copy every session of ``src`` that ``dst`` lacks; ``progress(samples_done, total)``."""
    if dst.backend.location == src.backend.location:
        raise StorageError("The database to copy to is the one being copied.", "invalid")
    check_covered(src)
    report = CopyReport()
    origins = _origins(src)
    there = {o for (o,) in dst._q("SELECT origin FROM sessions WHERE origin IS NOT NULL")}
    todo = [sid for sid, origin in origins.items() if origin not in there]
    report.sessions_already_there = len(origins) - len(todo)
    total = int(src._one("SELECT COALESCE(SUM(t.sample_count), 0) FROM trials t "
                         "JOIN sessions s ON s.id = t.session_id")[0] or 0)
    done = total - sum(_session_samples(src, sid) for sid in todo)
    athlete_ids = _map_athletes(src, dst, report)
    _copy_calibrations(src, dst)
    if progress:
        progress(done, total)
    for sid in todo:
        with dst.transaction():
            n = _copy_session(src, dst, sid, origins[sid], athlete_ids, report)
        report.sessions_copied += 1
        report.samples_copied += n
        done += n
        if progress:
            progress(done, total)
    _copy_plans(src, dst, athlete_ids, origins, report)
    return report


def _session_samples(src, sid: int) -> int:
    return int(src._one("SELECT COALESCE(SUM(sample_count), 0) FROM trials WHERE session_id = ?",
                        (sid,))[0] or 0)


def _map_athletes(src, dst, report: CopyReport) -> dict[int, int]:
    out = {}
    for a in src.athletes():
        with dst.transaction():
            found = dst.find_athlete(a.name)
            if found is None:
                found = dst.add_athlete(a.name, a.foot_length_mm, shoe_size=a.shoe_size,
                                        dominant_leg=a.dominant_leg,
                                        injured_side=a.injured_side, notes=a.notes,
                                        settings=a.settings)
                report.athletes_added += 1
            else:
                report.athletes_matched += 1
        out[a.id] = found.id
    return out


def _copy_calibrations(src, dst) -> None:
    rows = src._q("SELECT id, board_id, data, created, firmware FROM calibrations")
    with dst.transaction():
        have = {cid for (cid,) in dst._q("SELECT id FROM calibrations")}
        dst._write_many("INSERT INTO calibrations (id, board_id, data, created, firmware) "
                        "VALUES (?, ?, ?, ?, ?)", [r for r in rows if r[0] not in have])


def _copy_session(src, dst, sid: int, origin: str, athlete_ids: dict, report) -> int:
    (athlete_id, started, board_id, firmware, cal_id, source_kind, app_version, notes) = src._one(
        "SELECT athlete_id, started, board_id, firmware, calibration_id, source_kind, "
        "app_version, notes FROM sessions WHERE id = ?", (sid,))
    new_sid = dst._insert(
        "INSERT INTO sessions (athlete_id, started, board_id, firmware, calibration_id, "
        "source_kind, app_version, notes, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (athlete_ids.get(athlete_id), started, board_id, firmware, cal_id, source_kind,
         app_version, notes, origin))
    copied = 0
    for row in src._q("SELECT id, drill, leg, condition, settings, status, reason, started, "
                      "ended, metrics, heartbeat_unix FROM trials WHERE session_id = ? "
                      "ORDER BY id", (sid,)):
        old_tid, status = row[0], row[5]
        if status == "recording":
            report.skipped_recording.append(old_tid)
        new_tid = dst._insert(
            "INSERT INTO trials (session_id, drill, leg, condition, settings, status, reason, "
            "started, ended, metrics, heartbeat_unix, sample_count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", (new_sid, *row[1:]))
        dst._write_many("INSERT INTO trial_metrics (trial_id, key, value) VALUES (?, ?, ?)",
                        [(new_tid, k, v) for k, v in src._q(
                            "SELECT key, value FROM trial_metrics WHERE trial_id = ?",
                            (old_tid,))])
        rows = src._q(f"SELECT {', '.join(SAMPLE_COLUMNS[1:])} FROM samples "
                      "WHERE trial_id = ? ORDER BY idx", (old_tid,))
        with dst._lock:
            dst._db.insert_rows("samples", SAMPLE_COLUMNS, ((new_tid, *r) for r in rows))
        dst._write("UPDATE trials SET sample_count = ? WHERE id = ?", (len(rows), new_tid))
        copied += len(rows)
    return copied


def _server_sessions(dst, origins: dict[int, str]) -> dict[int, int]:
    """Laptop session id -> the server's id of its copy (those copied so far)."""
    by_origin = dict(dst._q("SELECT origin, id FROM sessions WHERE origin IS NOT NULL"))
    return {sid: by_origin[o] for sid, o in origins.items() if o in by_origin}


def _plan_key(athlete_id, started, created, spec) -> tuple:
    return (athlete_id, started, created, spec)


def _server_plans(src, dst, athlete_ids: dict) -> dict[int, int]:
    """Laptop plan id -> the server's id of the same plan (see the module's docstring)."""
    there = {_plan_key(*r[1:]): r[0] for r in dst._q(
        "SELECT id, athlete_id, started, created, spec FROM plans")}
    out = {}
    for pid, aid, started, created, spec in src._q(
            "SELECT id, athlete_id, started, created, spec FROM plans ORDER BY id"):
        found = there.get(_plan_key(athlete_ids.get(aid), started, created, spec))
        if found is not None:
            out[pid] = found
    return out


def _copy_plans(src, dst, athlete_ids: dict, origins: dict, report: CopyReport) -> None:
    """Each plan the server lacks, with its plan sessions, in one transaction; the plan
    sessions of a plan already there are completed (a copy cut off, or one done since)."""
    sessions = _server_sessions(dst, origins)
    with dst.transaction():
        have = _server_plans(src, dst, athlete_ids)
        report.plans_already_there = len(have)
        for pid, aid, started, spec, status, created in src._q(
                "SELECT id, athlete_id, started, spec, status, created FROM plans ORDER BY id"):
            if pid in have:
                continue
            athlete = athlete_ids[aid]
            if status == "active" and dst._one("SELECT 1 FROM plans WHERE athlete_id = ? AND "
                                               "status = 'active'", (athlete,)):
                # The server's coach already set this athlete a plan: theirs stays the
                # active one (the laptop's is kept, ended, and the report says so).
                status = "ended"
                report.plans_ended.append(dst.athlete(athlete).name)
            have[pid] = dst._insert("INSERT INTO plans (athlete_id, started, spec, status, "
                                    "created) VALUES (?, ?, ?, ?, ?)",
                                    (athlete, started, spec, status, created))
            report.plans_copied += 1
        done = set(dst._q("SELECT plan_id, number, session_id FROM plan_sessions"))
        rows = [(have[pid], number, sessions[sid], when) for pid, number, sid, when in src._q(
            "SELECT plan_id, number, session_id, done FROM plan_sessions ORDER BY plan_id, "
            "number, session_id") if (have[pid], number, sessions[sid]) not in done]
        dst._write_many("INSERT INTO plan_sessions (plan_id, number, session_id, done) "
                        "VALUES (?, ?, ?, ?)", rows)
        # The steps done of a plan session (so a session cut short resumes on the server too).
        steps_done = set(dst._q("SELECT plan_id, number, step FROM plan_steps"))
        steps = [(have[pid], number, step, name, leg, sessions[sid], when)
                 for pid, number, step, name, leg, sid, when in src._q(
                     "SELECT plan_id, number, step, name, leg, session_id, done FROM plan_steps "
                     "ORDER BY plan_id, number, step")
                 if (have[pid], number, step) not in steps_done]
        dst._write_many("INSERT INTO plan_steps (plan_id, number, step, name, leg, session_id, "
                        "done) VALUES (?, ?, ?, ?, ?, ?, ?)", steps)


def count_rows(src, dst) -> list[tuple[str, int, int]]:
    """(table, rows on the laptop, rows of the laptop's on the server), for each table."""
    origins = _origins(src)
    out = []
    names = {a.name.lower() for a in src.athletes()}
    out.append(("athletes", len(names),
                sum(1 for a in dst.athletes() if a.name.lower() in names)))
    cal_ids = {c for (c,) in src._q("SELECT id FROM calibrations")}
    out.append(("calibrations", len(cal_ids),
                sum(1 for (c,) in dst._q("SELECT id FROM calibrations") if c in cal_ids)))
    # The server's sessions that came from here: their origins, exactly.
    mine = set(origins.values())
    server_sids = [sid for sid, o in dst._q("SELECT id, origin FROM sessions "
                                            "WHERE origin IS NOT NULL") if o in mine]
    out.append(("sessions", len(origins), len(server_sids)))
    for table, sql in (
            ("trials", "SELECT COUNT(*) FROM trials WHERE session_id = ?"),
            ("trial_metrics", ("SELECT COUNT(*) FROM trial_metrics m JOIN trials t "
                               "ON t.id = m.trial_id WHERE t.session_id = ?")),
            ("samples", ("SELECT COUNT(*) FROM samples x JOIN trials t ON t.id = x.trial_id "
                         "WHERE t.session_id = ?"))):
        local = sum(int(src._one(sql, (sid,))[0]) for sid in origins)
        server = sum(int(dst._one(sql, (sid,))[0]) for sid in server_sids)
        out.append((table, local, server))
    athlete_ids = {a.id: found.id for a in src.athletes()
                   if (found := dst.find_athlete(a.name)) is not None}
    plans = _server_plans(src, dst, athlete_ids)
    local_plans = [pid for (pid,) in src._q("SELECT id FROM plans")]
    out.append(("plans", len(local_plans), sum(1 for p in local_plans if p in plans)))
    sessions = _server_sessions(dst, origins)
    server_links = set(dst._q("SELECT plan_id, number, session_id FROM plan_sessions"))
    local_links = src._q("SELECT plan_id, number, session_id FROM plan_sessions")
    out.append(("plan_sessions", len(local_links),
                sum(1 for p, n, s in local_links
                    if (plans.get(p), n, sessions.get(s)) in server_links)))
    server_steps = set(dst._q("SELECT plan_id, number, step FROM plan_steps"))
    local_steps = src._q("SELECT plan_id, number, step FROM plan_steps")
    out.append(("plan_steps", len(local_steps),
                sum(1 for p, n, k in local_steps if (plans.get(p), n, k) in server_steps)))
    return out
