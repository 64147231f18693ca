"""`stancelab db migrate --to postgresql://...`: move a laptop's database to the clinic server;
`stancelab db use URL|local` and `stancelab db show`: which database this station uses."""

from __future__ import annotations

import sys
from pathlib import Path

from stancelab.cli.data_commands import Progress
from stancelab.cli.errors import UserError
from stancelab.cli.store import open_store


def register(sub) -> None:
    sp = sub.add_parser("db", help="the database: copy a laptop's recordings to a clinic server")
    dbsub = sp.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    mp = dbsub.add_parser(
        "migrate", help="copy this laptop's SQLite database to a PostgreSQL server "
                        "(athletes, calibrations, sessions, trials, samples, training plans); safe to "
                        "repeat")
    mp.add_argument("--to", metavar="URL", required=True,
                    help="the server, e.g. postgresql://coach@db.clinic.example/stancelab "
                         "(the password goes in ~/.pgpass, never in the URL)")
    mp.add_argument("--from", dest="source", metavar="FILE",
                    help="the SQLite file to copy (default: this user's database)")
    mp.set_defaults(func=cmd_migrate)
    up = dbsub.add_parser("use", help="make this station use a clinic server (or 'local': its "
                                      "own SQLite file); STANCELAB_DATABASE_URL overrides it")
    up.add_argument("target", metavar="URL|local")
    up.set_defaults(func=cmd_use)
    sp = dbsub.add_parser("show", help="say which database this station uses, and why")
    sp.set_defaults(func=cmd_show)


def cmd_use(args) -> int:
    from stancelab.storage import StorageError
    from stancelab.storage.backends import is_server_url
    from stancelab.storage.station_setting import use_server

    target = None if args.target == "local" else args.target
    if target is not None and not is_server_url(target):
        raise UserError(f"give a postgresql:// URL or 'local', not {target!r}")
    try:
        where = use_server(target)        # reachable, schema current: said now, not later
    except StorageError as e:
        raise UserError(str(e).rstrip(".")) from None
    if target is None:
        print("This station now uses its own database file.")
    else:
        print(f"This station now uses {where}.")
    return 0


def cmd_show(args) -> int:
    from stancelab.storage import StorageError
    from stancelab.storage.station_setting import setting_said

    try:
        where, why = setting_said()
    except StorageError as e:
        raise UserError(str(e)) from None
    print(f"{where}  ({why})")
    return 0


def cmd_migrate(args) -> int:
    from stancelab import paths
    from stancelab.storage import StorageError, is_server_url
    from stancelab.storage.backends import has_password
    from stancelab.storage.server_copy import check_covered, copy_database, count_rows

    if not is_server_url(args.to):
        raise UserError(f"--to must be a postgresql:// URL, not {args.to!r}")
    source = args.source or str(paths.database_path())
    if is_server_url(source):
        raise UserError("--from is the laptop's SQLite file; the server goes in --to")
    if not Path(source).is_file():
        raise UserError(f"no database file {source}; name the laptop's stancelab.sqlite3 "
                        f"with --from")
    src = open_store(source)
    try:
        check_covered(src)       # said before the server is touched
    except StorageError as e:
        src.close()
        raise UserError(str(e)) from None
    dst = open_store(args.to)
    where = dst.backend.location
    if has_password(args.to):
        print("stancelab: warning: a password in the URL shows in the shell history and to "
              "other users' `ps`; put it in ~/.pgpass instead (docs/clinic.md).",
              file=sys.stderr)
    print(f"Copying {src.backend.location} to {where}", file=sys.stderr)
    progress = Progress(1, "samples")

    def show(done: int, total: int) -> None:
        progress.total = total
        progress.update(done, f"({done:,} of {total:,} samples)", force=done == total)

    try:
        report = copy_database(src, dst, show)
        progress.finish()
        counts = count_rows(src, dst)
    except StorageError as e:
        progress.finish()
        raise UserError(f"{e} Nothing half-copied is kept: run the same command again to "
                        f"go on where it stopped.") from None
    finally:
        src.close()
        dst.close()
    print(f"{report.sessions_copied} sessions copied ({report.samples_copied:,} samples), "
          f"{report.sessions_already_there} already on the server; athletes: "
          f"{report.athletes_added} added, {report.athletes_matched} matched by name; "
          f"{report.plans_copied} training plans copied, {report.plans_already_there} "
          f"already there.")
    if report.plans_ended:
        print(f"note: {', '.join(report.plans_ended)} already had an active plan on the "
              f"server; it stays active and this laptop's plan was copied as ended.")
    if report.skipped_recording:
        print(f"note: trials {report.skipped_recording} were still marked as recording on "
              f"this laptop and were copied as they are.")
    print(f"{'table':<14}{'laptop':>12}{'server':>12}")
    bad = []
    for table, local, server in counts:
        print(f"{table:<14}{local:>12,}{server:>12,}  {'ok' if local == server else 'DIFFERS'}")
        if local != server:
            bad.append(table)
    if bad:
        raise UserError(f"the server's copy differs from this laptop in {', '.join(bad)}; run "
                        f"the command again, and if it still differs keep the laptop's file "
                        f"and report it")
    print(f"Check passed: every row of this laptop's database is on {where}.")
    return 0
