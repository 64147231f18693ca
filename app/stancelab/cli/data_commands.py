"""`stancelab record | sessions | export | import`: recording and moving data in and out."""

from __future__ import annotations

import sys
import time

from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.station.calibrations import calibration_for

#: An unplugged board that is back within this many seconds continues the same recording.
RECONNECT_WAIT_S = 10.0


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
    from stancelab.storage import StorageError

    if args.seconds <= 0:
        raise UserError("--seconds must be more than 0")
    store = open_store()
    athlete = store.get_or_add_athlete(args.athlete)
    realtime = not args.fast
    if args.fast and args.port:
        raise UserError("--fast works with --simulate or --replay, not with a real board")
    src = open_source(args, realtime=realtime)
    status, reason, n, lost = "completed", None, 0, 0
    gaps: list[list[float]] = []    # device time [last sample before, first sample after]
    db_error = None
    try:
        st = src.state
        calib = calibration_for(st)
        session = store.start_session(athlete_id=athlete.id, source_kind=st.kind,
                                      board_id=st.board_id, firmware=st.firmware,
                                      calibration=calib)
        trial = store.start_trial(session.id, "recording",
                                  settings={"seconds": args.seconds, "source": st.description,
                                            "rate_sps": st.nominal_rate_sps})
        print(f"Recording {args.seconds:g} s from the {st.description} "
              f"(board {st.board_id:08x}, firmware {st.firmware}) for {athlete.name}: "
              f"session {session.id}, trial {trial.id}.", file=sys.stderr)
        if calib.method == "nominal":
            print("Note: this board has no saved calibration; forces use nominal gains.",
                  file=sys.stderr)
        progress = Progress(args.seconds)
        # N seconds at R samples/s is N*R samples: stop half a period early, since device
        # timestamps jitter by the firmware's loop latency (tens of microseconds).
        end_s = args.seconds - 0.5 / (st.nominal_rate_sps or 80)
        writer = store.sample_writer(trial.id)
        t0 = last_t = None
        disconnected_since = None
        try:
            src.start()
            while True:
                samples = src.read(timeout=0.1)
                if samples:
                    if t0 is None:
                        t0 = samples[0].t_s
                    if gaps and gaps[-1][1] is None:
                        gaps[-1][1] = samples[0].t_s
                    keep = [s for s in samples if s.t_s - t0 < end_s]
                    writer.extend(keep)
                    n += len(keep)
                    last_t = samples[-1].t_s
                    if len(keep) < len(samples):
                        break
                else:
                    writer.tick()
                st = src.state
                lost = st.lost_frames
                if not st.connected:
                    if st.kind == "replay":
                        break  # end of file
                    if disconnected_since is None:
                        disconnected_since = time.monotonic()
                        gaps.append([last_t, None])
                        progress.finish()
                        print(f"{st.error or 'The board disconnected.'} Waiting up to "
                              f"{args.reconnect_wait:g} s for it.", file=sys.stderr)
                    if time.monotonic() - disconnected_since > args.reconnect_wait:
                        status, reason = "interrupted", (
                            f"the board disconnected and did not come back within "
                            f"{args.reconnect_wait:g} s; {n} samples kept")
                        break
                elif disconnected_since is not None:
                    print(f"The board is back after {time.monotonic() - disconnected_since:.1f} s;"
                          " recording continues.", file=sys.stderr)
                    disconnected_since = None
                done = (samples[-1].t_s - t0) if samples and t0 is not None else None
                if done is not None:
                    progress.update(done, f"{n} samples  {lost} lost")
            progress.update(args.seconds if status == "completed" else 0,
                            f"{n} samples  {lost} lost", force=True)
        except KeyboardInterrupt:
            status, reason = "aborted", "stopped by the user (Ctrl-C)"
        except StorageError as e:
            db_error = e
        finally:
            progress.finish()
            try:
                writer.close()
            except StorageError as e:
                db_error = db_error or e
            kept = writer.committed
            if status == "completed" and gaps:
                missing = sum(b - a for a, b in gaps if a is not None and b is not None)
                status, reason = "interrupted", (
                    f"the board disconnected {len(gaps)} time(s); recording resumed each time, "
                    f"{missing:.2f} s of device time have no samples")
            if db_error is not None:
                status, reason = "interrupted", f"could not write to the database: {db_error}"
                n = kept
            try:
                store.update_metrics(trial.id, {"samples": n, "lost_frames": lost,
                                                "gaps_t_s": gaps})
                store.finish_trial(trial.id, status, reason)
            except StorageError as e:
                # The trial stays 'recording'; the next start marks it interrupted.
                db_error = db_error or e
    finally:
        src.close()
    if db_error is not None:
        if "full" in str(db_error):
            raise UserError(
                f"the disk is full; recording stopped. The {kept} samples written before are "
                f"kept in {store.path}. Free some disk space and record again.")
        raise UserError(f"{db_error} The {kept} samples written before are kept.")
    print(f"{status}: {n} samples in trial {trial.id} ({lost} lost frames), database "
          f"{store.path}" + (f"; {reason}" if reason else ""), file=sys.stderr)
    if args.out:
        _export(store, session.id, args.out, ["name"])
        print(f"Exported to {args.out}", file=sys.stderr)
    return 0 if status == "completed" else 1


def cmd_sessions(args) -> int:
    store = open_store()
    athlete_id = None
    if args.athlete:
        a = store.find_athlete(args.athlete)
        if a is None:
            raise UserError(f"no athlete named {args.athlete!r}; see `stancelab sessions`")
        athlete_id = a.id
    names = {a.id: a.name for a in store.athletes()}
    sessions = store.sessions(athlete_id)
    if not sessions:
        print("No sessions yet. Record one: stancelab record --simulate --seconds 30")
    for s in sessions:
        print(f"session {s.id}  {s.started}  {names.get(s.athlete_id, '-')}  {s.source_kind}"
              f"  board {s.board_id if s.board_id is None else format(s.board_id, '08x')}")
        for t in store.trials(s.id):
            print(f"  trial {t.id}  {t.drill}  {t.leg or ''}  {t.condition or ''}  {t.status}"
                  f"  {store.sample_count(t.id)} samples" + (f"  ({t.reason})" if t.reason else ""))
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
            summary: str | None = None) -> None:
    from stancelab import csvio

    prog = Progress(1.0, unit="")
    try:
        csvio.export_session(store, session_id, None, trial_ids=trial_ids,
                             athlete_fields=include, raw_path=out, summary_path=summary,
                             progress=lambda done, total: prog.update(
                                 done / total if total else 1.0, f"{done} rows"))
    except csvio.CsvFormatError as e:
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
    _export(store, session_id, args.out, include, trial_ids, args.summary)
    print(f"session {session_id}, {len(trial_ids)} trial(s) -> {args.out}"
          + (f", summary -> {args.summary}" if args.summary else ""))
    return 0


def cmd_import(args) -> int:
    from stancelab import csvio

    store = open_store()
    athlete_id = store.get_or_add_athlete(args.athlete).id if args.athlete else None
    try:
        session_id = csvio.import_raw_csv(store, args.file, athlete_id=athlete_id)
    except csvio.CsvFormatError as e:
        raise UserError(str(e)) from None
    except FileNotFoundError:
        raise UserError(f"no file {args.file!r}; check the path") from None
    except IsADirectoryError:
        raise UserError(f"{args.file!r} is a folder; give a CSV file") from None
    trials = store.trials(session_id)
    n = sum(store.sample_count(t.id) for t in trials)
    print(f"Imported {args.file} as session {session_id}: {len(trials)} trial(s), {n} samples")
    return 0
