"""`stancelab ports | calibrate`: finding the board; calibrating it in the terminal.

`calibrate` is the terminal front end of stancelab.station.calibrate: it prints each step the
procedure asks for (Enter to go on, q to quit), feeds it the board's samples, prints the verdict
and saves an accepted calibration in the database. With --simulate the virtual mass of
stancelab.sim.factory.Rig is put where each step asks once Enter is pressed, so the procedure
itself is exercised in tests.
"""

from __future__ import annotations

import sys
import time

from stancelab import calibration as cal
from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.cli.store import open_store
from stancelab.geometry import CHANNEL_NAMES
from stancelab.station.calibrate import MASS_RANGE_KG, CalibrationProcedure, Step, Verdict
from stancelab.station.calibrations import calibration_for, save_accepted

#: Wall-clock seconds without a sample before the board counts as stopped.
NO_SAMPLES_S = 5.0


def register(sub) -> None:
    sp = sub.add_parser("ports", help="list serial ports and Wii Balance Boards; mark boards")
    sp.add_argument("--no-probe", action="store_true", help="do not send identify to each port")
    sp.set_defaults(func=cmd_ports)

    sp = sub.add_parser("calibrate", help="calibrate the board: tare, known mass, verification")
    add_source_args(sp)
    sp.add_argument("--mass", type=float, default=20.0, metavar="KG",
                    help="the known mass you will place, in kg (default 20; 10-50 works)")
    sp.add_argument("--tare-only", action="store_true",
                    help="only re-tare the empty board, keep the current gains")
    sp.add_argument("--yes", action="store_true",
                    help="do not wait for Enter between steps (simulated board, scripts)")
    sp.set_defaults(func=cmd_calibrate)


class _Terminal:
    """The procedure's front end in a terminal; for --simulate the rig follows the prompts."""

    def __init__(self, args, source, rig=None) -> None:
        self.args, self.source, self.rig = args, source, rig

    def prompt(self, step: Step) -> None:
        if step.problem:
            print(f"  Step {step.number} refused: {step.problem}", file=sys.stderr)
            if self.args.yes:
                raise UserError(step.problem)
        elif step.previous:
            print(f"  {step.previous}", file=sys.stderr)
        print(step.prompt, file=sys.stderr)
        if not self.args.yes:
            answer = input("  Press Enter when ready (q to quit): ")
            if answer.strip().lower() in ("q", "quit"):
                raise KeyboardInterrupt
        if self.rig is not None:
            self.rig.prompt(step)
        if getattr(self.source, "realtime", True):
            self.source.read()                   # drop what came while the user was busy

    def samples(self) -> list:
        deadline = time.monotonic() + NO_SAMPLES_S
        while time.monotonic() < deadline:
            got = self.source.read(timeout=0.1)
            if got:
                return got
        raise cal.CalibrationError("the board stopped sending samples; check the USB cable and "
                                   "run `stancelab ports`")


def _open(args):
    """The board to calibrate; for --simulate a virtual board with a mass we control."""
    if not args.simulate:
        return open_source(args, realtime=True), None
    from stancelab.sim.factory import Rig

    rig = Rig(seed=args.seed)
    return rig.source, rig


def _board(st) -> str:
    return "(no id)" if st.board_id is None else f"{st.board_id:08x}"


def _print_verdict(verdict: Verdict, current: cal.Calibration) -> None:
    if verdict.gain_change is not None:
        against = ("nominal" if current.method in ("nominal", "tare")
                   else "the previous calibration")
        print(f"  Gains vs {against}: " + ", ".join(
            f"{n} {c:+.2%}" for n, c in zip(CHANNEL_NAMES, verdict.gain_change)),
            file=sys.stderr)
    if verdict.marks:
        print("  Verification (COP error, load error) at each mark:", file=sys.stderr)
        for m in verdict.marks:
            print(f"    {m.mark} ({m.x_mm:+5.0f}, {m.y_mm:+5.0f}) mm: {m.cop_error_mm:.2f} mm, "
                  f"{m.load_error_pct:+.3f} %{'' if m.ok else '  <- too far off'}",
                  file=sys.stderr)
    if verdict.accepted:                 # a refused one is the command's error message
        print(f"  {verdict.reason}", file=sys.stderr)


def cmd_calibrate(args) -> int:
    lo, hi = MASS_RANGE_KG
    if not lo <= args.mass <= hi:
        raise UserError(f"--mass must be the known mass in kg, between {lo:g} and {hi:g}")
    store = open_store()
    try:
        src, rig = _open(args)
        try:
            st = src.state
            current = calibration_for(store, st, calibrate_simulated=False)
            print(f"Calibrating board {_board(st)} (firmware {st.firmware}) on the "
                  f"{st.description}. Current calibration: {current.method}, {current.created}.",
                  file=sys.stderr)
            proc = CalibrationProcedure(current, args.mass, tare_only=args.tare_only,
                                        front=_Terminal(args, src, rig))
            src.start()
            verdict = proc.run()
        except cal.CalibrationError as e:
            raise UserError(str(e)) from None
        except (KeyboardInterrupt, EOFError):
            print("\nCalibration stopped; nothing was saved.", file=sys.stderr)
            return 1
        finally:
            src.close()
        _print_verdict(verdict, current)
        if not verdict.accepted:
            raise UserError(f"{verdict.reason} Nothing was saved.")
        new = verdict.calibration
        save_accepted(store, verdict)
    finally:
        store.close()
    print(f"Saved calibration {new.id} ({new.method}) for board {_board(st)} in the "
          f"database {store.backend.location}")
    return 0


def cmd_ports(args) -> int:
    from stancelab.board.ports import list_ports
    from stancelab.board.wiiboard import LOW_BATTERY_PCT, find_wiiboards

    ports = list_ports(probe=not args.no_probe)
    wii = find_wiiboards()
    for b in wii:
        battery = "" if b.battery_pct is None else f", battery {b.battery_pct} %" + (
            " (low: fresh AA batteries)" if b.battery_pct < LOW_BATTERY_PCT else "")
        print(f"* {b.device}  Wii Balance Board {b.address or '(no address)'}{battery}; "
              f"use --wiiboard {b.device}")
    if not ports:
        if not wii:
            print("No serial ports found. Plug the board in (USB), pair a Wii Balance Board "
                  "(docs/wiiboard.md) or use --simulate.")
        return 0
    for info in ports:
        mark = "  "
        extra = ""
        if info.identity is not None:
            mark = "* "
            ident = info.identity
            extra = (f"  StanceLab board {ident.board_id:08x}, firmware {ident.firmware_version},"
                     f" {ident.rate_sps} samples/s")
        elif getattr(info, "error", None):
            # The probe's own message explains a failed open; a silent port is just not a board.
            extra = ("  (no StanceLab board answered)" if "No answer" in info.error
                     else f"  ({info.error})")
        print(f"{mark}{info.device}  {info.description}{extra}")
    return 0
