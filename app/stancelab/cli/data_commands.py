"""`stancelab record | sessions | export | import`: recording and moving data in and out.

`export --excel` writes the spreadsheet dialect (files/csv_write.py SPREADSHEET).
"""

from __future__ import annotations

import sys
import time

from stancelab.analysis.assessment import shown_status
from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.station.recording import RECONNECT_WAIT_S, Recording


def register(sub) -> None:
    sp = sub.add_parser("record", help="record raw samples into the database (and a CSV)")
    add_source_args(sp, replay=True)
    sp.add_argument("--seconds", type=float, default=30.0, help="how long to record (30)")
    sp.add_argument("--athlete", metavar="NAME", default="Demo athlete",
                    help="athlete name; created if new")
    sp.add_argument("--out", metavar="FILE.csv", help="also export the recording to this CSV")
    sp.add_argument("--fast", action="store_true",
                    help="simulated board or replay: run faster than real time")
    sp.add_argument("--reconnect-wait", type=float, default=RECONNECT_WAIT_S, metavar="S",
                    help="how long to wait for an unplugged board to come back before the "
                         f"recording stops as interrupted ({RECONNECT_WAIT_S:g})")
    sp.set_defaults(func=cmd_record)

    sp = sub.add_parser("sessions", help="list recorded sessions and their trials")
    sp.add_argument("--athlete", metavar="NAME")
    sp.set_defaults(func=cmd_sessions)

    sp = sub.add_parser("export", help="export a session or trial to CSV")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--session", type=int, metavar="ID")
    g.add_argument("--trial", type=int, metavar="ID")
    sp.add_argument("--out", metavar="FILE.csv", required=True,
                    help="raw samples CSV, one row per sample, a `trial` column numbering the "
                         "session's trials")
    sp.add_argument("--summary", metavar="FILE.csv", help="also write the per-trial summary")
    sp.add_argument("--include", metavar="FIELDS", default="name",
                    help="athlete fields in the header, comma-separated (name,foot_length_mm,"
                         "dominant_leg,injured_side,notes) or 'none' (default: name)")
    sp.add_argument("--excel", action="store_true",
                    help="for spreadsheets in decimal-comma locales: UTF-8 with BOM, "
                         "semicolons, decimal commas (the default CSV is for pandas, R and "
                         "`stancelab import`)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("import", help="import a raw CSV export into the database")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--athlete", metavar="NAME", help="attach to this athlete (default: from "
                    "the file, else 'Imported')")
    sp.set_defaults(func=cmd_import)


class Progress:
    """A one-line progress bar on a terminal; a line every few seconds otherwise."""

    def __init__(self, total: float, unit: str = "s", stream=None):
        self.total, self.unit = total, unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1e9

    def update(self, done: float, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        frac = min(max(done / self.total, 0.0), 1.0) if self.total else 1.0
        bar = "#" * int(frac * 30) + "." * (30 - int(frac * 30))
        line = f"[{bar}] {done:6.1f}/{self.total:.1f} {self.unit}  {extra}"
        if self.tty:
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_record(args) -> int:
    if args.seconds <= 0:
        raise UserError("--seconds must be more than 0")
    if args.fast and (args.port or getattr(args, "wiiboard", None)):
        raise UserError("--fast works with --simulate or --replay, not with a real board")
    store = open_store()
    athlete = store.get_or_add_athlete(args.athlete)
    src = open_source(args, realtime=not args.fast)
    progress = Progress(args.seconds)

    def tell(kind, **d):
        if kind == "started":
            st = src.state
            print(f"Recording {args.seconds:g} s from the {st.description} "
                  f"(board {'without id' if st.board_id is None else format(st.board_id, '08x')}, "
                  f"firmware {st.firmware}) for {athlete.name}: "
                  f"session {d['session'].id}, trial {d['trial'].id}.", file=sys.stderr)
            if d["calibration"].method == "nominal":
                print("Note: this board has no saved calibration; forces use nominal gains.",
                      file=sys.stderr)
        elif kind == "progress":
            progress.update(d["done_s"], f"{d['samples']} samples  {d['lost']} lost",
                            force=d.get("final", False))
        elif kind == "disconnected":
            progress.finish()
            print(f"{d['message']} Waiting up to {args.reconnect_wait:g} s for it.",
                  file=sys.stderr)
        elif kind == "back":
            print(f"The board is back after {d['after_s']:.1f} s; recording continues.",
                  file=sys.stderr)

    rec = Recording(store, src, athlete.id, args.seconds, reconnect_wait_s=args.reconnect_wait,
                    on_event=tell)
    try:
        rec.run()
    finally:
        progress.finish()
    if rec.db_error is not None:
        if rec.db_error.kind == "disk_full":
            raise UserError(
                f"the disk is full; recording stopped. The {rec.kept} samples written before "
                f"are kept in {store.backend.location}. Free some disk space and record again.")
        raise UserError(f"{rec.db_error} The {rec.kept} samples written before are kept.")
    print(f"{rec.trial_status}: {rec.samples} samples in trial {rec.trial.id} ({rec.lost} lost "
          f"frames), database {store.backend.location}"
          + (f"; {rec.reason}" if rec.reason else ""), file=sys.stderr)
    if args.out:
        _export(store, rec.session.id, args.out, ["name"])
        print(f"Exported to {args.out}", file=sys.stderr)
    return 0 if rec.trial_status == "completed" else 1


def cmd_sessions(args) -> int:
    store = open_store()
    athlete_id = None
    if args.athlete:
        a = store.find_athlete(args.athlete)
        if a is None:
            raise UserError(f"no athlete named {args.athlete!r}; see `stancelab sessions`")
        athlete_id = a.id
    # Two summary queries for the whole listing, whatever the number of sessions and trials.
    sessions = store.session_summaries(athlete_id)
    trials: dict[int, list] = {}
    for t in store.trial_summaries(athlete_id, headline=False):
        trials.setdefault(t.session_id, []).append(t)
    if not sessions:
        print("No sessions yet. Record one: stancelab record --simulate --seconds 30")
    lines = []
    for s in sessions:
        lines.append(f"session {s.id}  {s.started}  {s.athlete_name or '-'}  {s.source_kind}"
                     f"  board {s.board_id if s.board_id is None else format(s.board_id, '08x')}")
        lines += [f"  trial {t.id}  {t.drill}  {t.leg or ''}  {t.condition or ''}  "
                  f"{shown_status(t.status, t.reason)}"
                  f"  {t.sample_count} samples" + (f"  ({t.reason})" if t.reason else "")
                  for t in trials.get(s.id, ())]
    if lines:
        print("\n".join(lines))
    return 0


def _include_fields(spec: str) -> list[str]:
    if spec.strip().lower() == "none":
        return []
    fields = [f.strip() for f in spec.split(",") if f.strip()]
    allowed = {"name", "foot_length_mm", "shoe_size", "dominant_leg", "injured_side", "notes"}
    bad = [f for f in fields if f not in allowed]
    if bad:
        raise UserError(f"unknown athlete field(s) {', '.join(bad)}; choose from "
                          f"{', '.join(sorted(allowed))}")
    return fields


def _export(store, session_id: int, out: str, include: list[str], trial_ids=None,
            summary: str | None = None, excel: bool = False) -> None:
    from stancelab.files.csv_format import CsvFormatError
    from stancelab.files.csv_write import PLAIN, SPREADSHEET
    from stancelab.files.transfer import export_session

    prog = Progress(1.0, unit="")
    try:
        export_session(store, session_id, None, trial_ids=trial_ids,
                       athlete_fields=include, raw_path=out, summary_path=summary,
                       progress=lambda done, total: prog.update(
                           done / total if total else 1.0, f"{done} rows"),
                       dialect=SPREADSHEET if excel else PLAIN)
    except CsvFormatError as e:
        raise UserError(str(e)) from None
    finally:
        prog.finish()


def cmd_export(args) -> int:
    from stancelab.storage import StorageError

    store = open_store()
    include = _include_fields(args.include)
    try:
        if args.trial is not None:
            trial_ids = [store.trial(args.trial).id]
            session_id = store.trial(args.trial).session_id
        else:
            session_id = store.session(args.session).id
            trial_ids = [t.id for t in store.trials(session_id)]
    except StorageError as e:
        raise UserError(f"{e} See `stancelab sessions` for what exists.") from None
    if not trial_ids:
        raise UserError(f"session {session_id} has no trials to export")
    _export(store, session_id, args.out, include, trial_ids, args.summary, args.excel)
    print(f"session {session_id}, {len(trial_ids)} trial(s) -> {args.out}"
          + (f", summary -> {args.summary}" if args.summary else "")
          + (" (for spreadsheets: semicolons, decimal commas)" if args.excel else ""))
    return 0


def cmd_import(args) -> int:
    from stancelab.files.cop_trace import sniff_layout
    from stancelab.files.csv_format import CsvFormatError
    from stancelab.files.transfer import import_raw_csv

    store = open_store()
    athlete_id = store.get_or_add_athlete(args.athlete).id if args.athlete else None
    try:
        session_id = import_raw_csv(store, args.file, athlete_id=athlete_id)
    except CsvFormatError as e:
        layout = sniff_layout(args.file)
        if layout is not None:
            what = "in the PhysioNet HBEDB layout" if layout == "hbedb" else "(time and COP columns)"
            raise UserError(f"{args.file} is a COP trace {what}, not a StanceLab raw CSV: the "
                            "database keeps load-cell samples, which a trace does not have. "
                            f"Analyse it with `stancelab analyze {args.file}`.") from None
        raise UserError(str(e)) from None
    except FileNotFoundError:
        raise UserError(f"no file {args.file!r}; check the path") from None
    except IsADirectoryError:
        raise UserError(f"{args.file!r} is a folder; give a CSV file") from None
    trials = store.trials(session_id)
    n = sum(store.sample_count(t.id) for t in trials)
    print(f"Imported {args.file} as session {session_id}: {len(trials)} trial(s), {n} samples")
    return 0
