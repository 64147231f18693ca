"""`stancelab report`: the coach's PDF for one athlete, headless (stancelab.report)."""

from __future__ import annotations

import atexit
import errno
import gc
import os
import sys
from pathlib import Path

from stancelab.cli.errors import UserError
from stancelab.cli.store import open_store


def register(sub) -> None:
    sp = sub.add_parser("report", help="the coach's PDF report for an athlete (A4, for print)")
    sp.add_argument("--athlete", metavar="NAME", required=True)
    sp.add_argument("--from", dest="date_from", metavar="DATE",
                    help="first day of sessions to include, YYYY-MM-DD (default: the first)")
    sp.add_argument("--to", dest="date_to", metavar="DATE",
                    help="last day of sessions to include, YYYY-MM-DD (default: the latest)")
    sp.add_argument("--out", metavar="FILE.pdf", required=True, help="the PDF to write")
    sp.set_defaults(func=report_command)


def check_out_path(text: str) -> Path:
    """The file to write, refused in one line before any work when it cannot be written."""
    out = Path(text).expanduser()
    if out.is_dir():
        raise UserError(f"--out {text!r} is a folder; give a file name such as "
                        f"{out / 'report.pdf'}")
    if out.suffix.lower() != ".pdf":
        raise UserError(f"--out {text!r}: give a file name ending in .pdf")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"--out {text!r}: the folder {folder} does not exist; create it or "
                        "choose another")
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and
                                                    not os.access(out, os.W_OK)):
        raise UserError(f"--out {text!r}: cannot write in {folder}; choose a folder you can "
                        "write to")
    return out


def report_command(args) -> int:
    from stancelab import report

    # What is imported and then read is never garbage: frozen, the cyclic collector stops
    # rescanning it each time matplotlib's artists fill a generation (about 0.1 s of the
    # command; docs/benchmarks.md). Undone at the end, for callers in a longer process.
    gc.freeze()
    try:
        return _report(report, args)
    finally:
        gc.unfreeze()
        if getattr(args, "program", False):
            # The process ends here, its files closed: the interpreter's last collections
            # would walk every object of numpy, matplotlib and the report to free a few
            # figures' reference cycles (about 0.3 s); frozen, it simply exits.
            atexit.register(gc.freeze)


def _report(report, args) -> int:
    try:
        date_from = report.parse_date(args.date_from, "--from")
        date_to = report.parse_date(args.date_to, "--to")
    except report.ReportError as e:
        raise UserError(str(e)) from None
    out = check_out_path(args.out)
    store = open_store()
    try:
        athlete = store.find_athlete(args.athlete)
        if athlete is None:
            raise UserError(f"no athlete named {args.athlete!r}; see `stancelab sessions` for "
                            "the names")
        try:
            content = report.gather(store, athlete, date_from, date_to)
        except report.ReportError as e:
            raise UserError(str(e)) from None
    finally:
        store.close()
    gc.freeze()
    try:
        report.write_report(out, content)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise UserError(f"the disk is full; nothing was written to {out}. Free some space "
                            "or choose another disk") from None
        raise UserError(f"cannot write {out}: {e.strerror or e}; choose a folder you can "
                        "write to") from None
    print(f"Report for {athlete.name}: {len(content.sessions)} session(s) "
          f"{content.first_date} to {content.last_date} -> {out}", file=sys.stderr)
    return 0
