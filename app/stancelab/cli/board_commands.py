"""`stancelab ports | calibrate`: finding the board; tare, a known mass at the printed marks, verification, saved per board.

The builder follows prompts in the terminal (Enter to go on, q to quit). With --simulate the
virtual board is calibrated by the same steps, its virtual mass put on each mark when Enter is
pressed, so the procedure itself is exercised in tests.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from stancelab import calibration as cal
from stancelab.cli.errors import UserError
from stancelab.cli.sources import add_source_args, open_source
from stancelab.geometry import CHANNEL_NAMES

TARE_S = 3.0
HOLD_S = 2.0
SETTLE_S = 0.5


def register(sub) -> None:
    sp = sub.add_parser("ports", help="list serial ports and mark StanceLab boards")
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


def _marks():
    from stancelab.sim.factory import CALIBRATION_MARKS_MM

    return CALIBRATION_MARKS_MM


def _where(x: float, y: float) -> str:
    if x == 0 and y == 0:
        return "the centre mark"
    return (f"the {'front' if y > 0 else 'back'}-{'right' if x > 0 else 'left'} mark "
            f"({abs(x):.0f} mm {'right' if x > 0 else 'left'}, "
            f"{abs(y):.0f} mm {'forward' if y > 0 else 'back'} of the centre)")


class _Steps:
    """Prompts, and for the simulated board the virtual mass that follows them."""

    def __init__(self, args, source, rig=None):
        self.args, self.source, self.rig = args, source, rig

    def ask(self, text: str) -> None:
        print(text, file=sys.stderr)
        if self.args.yes:
            return
        answer = input("  Press Enter when ready (q to quit): ")
        if answer.strip().lower() in ("q", "quit"):
            raise KeyboardInterrupt

    def place(self, mass_kg: float, x: float = 0.0, y: float = 0.0) -> None:
        if self.rig is not None:
            self.rig.place(mass_kg, x, y)

    def record(self, seconds: float) -> np.ndarray:
        """Counts (N, 4) over ``seconds`` of board time, after a short settle."""
        src = self.source
        src.read()                                   # drop what came while waiting
        out, t0 = [], None
        deadline = time.monotonic() + seconds * 4 + 5
        while time.monotonic() < deadline:
            for s in src.read(timeout=0.1):
                t0 = s.t_s if t0 is None else t0
                if s.t_s - t0 >= SETTLE_S:
                    out.append(s.counts)
            if t0 is not None and out and len(out) >= seconds * (src.state.nominal_rate_sps or 80):
                return np.array(out, float)
        raise cal.CalibrationError("the board stopped sending samples; check the USB cable and "
                                   "run `stancelab ports`")


def _open(args):
    """The board to calibrate; for --simulate a virtual board whose load we control."""

    if not args.simulate:
        return open_source(args, realtime=True), None
    from stancelab.sim.simulated_board import SimulatedBoard
    from stancelab.sim.virtual_board import VirtualBoard

    mass = _VirtualMass()
    src = SimulatedBoard(board=VirtualBoard(mass.load_fn, seed=args.seed), realtime=False,
                         seed=args.seed)
    src.open()
    return src, mass


class _VirtualMass:
    """What sits on the simulated board during its calibration."""

    def __init__(self):
        self.geom = cal.BoardGeometry()
        self.loads = np.zeros(4)

    def place(self, mass_kg: float, x_mm: float, y_mm: float) -> None:
        from stancelab.sim.factory import point_load

        self.loads = point_load(self.geom, mass_kg, x_mm, y_mm) if mass_kg else np.zeros(4)

    def load_fn(self, t_s):
        return np.tile(self.loads, (len(t_s), 1))


def cmd_calibrate(args) -> int:
    if not 1.0 <= args.mass <= 200.0:
        raise UserError("--mass must be the known mass in kg, between 1 and 200")
    src, rig = _open(args)
    steps = _Steps(args, src, rig)
    st = src.state
    current = cal.for_board(st.board_id, st.firmware)
    print(f"Calibrating board {st.board_id:08x} (firmware {st.firmware}) on the "
          f"{st.description}. Current calibration: {current.method}, {current.created}.",
          file=sys.stderr)
    try:
        src.start()
        while True:
            steps.place(0.0)
            steps.ask("Step 1: take everything off the board and keep it still.")
            try:
                new = cal.tare(current, steps.record(TARE_S))
                break
            except cal.CalibrationError as e:
                print(f"  Tare refused: {e}", file=sys.stderr)
                if args.yes:
                    raise UserError(str(e)) from None
        print("  Tare done: offsets " + ", ".join(
            f"{n} {v:.0f}" for n, v in zip(CHANNEL_NAMES, new.offsets_counts)), file=sys.stderr)
        if not args.tare_only:
            placements = []
            for i, (x, y) in enumerate(_marks(), 2):
                steps.place(0.0)
                steps.ask(f"Step {i}: put the {args.mass:g} kg mass on {_where(x, y)} and let go.")
                steps.place(args.mass, x, y)
                counts = steps.record(HOLD_S)
                placements.append(cal.Placement(args.mass, x, y, tuple(counts.mean(axis=0))))
            steps.place(0.0)
            fit = cal.fit_gains(new, placements)
            new = fit.calibration
            against = "nominal" if current.method in ("nominal", "tare") else "the previous calibration"
            print(f"  Gains vs {against}: " + ", ".join(
                f"{n} {c:+.2%}" for n, c in zip(CHANNEL_NAMES, fit.relative_gain_change)),
                file=sys.stderr)
            print("  Verification (COP error, load error) at each mark:", file=sys.stderr)
            for v in fit.verification:
                print(f"    ({v['x_mm']:+5.0f}, {v['y_mm']:+5.0f}) mm: "
                      f"{v['cop_error_mm']:.2f} mm, {v['load_error_pct']:+.3f} %", file=sys.stderr)
            worst = max(v["cop_error_mm"] for v in fit.verification)
            if worst > 2.0:
                raise UserError(f"the COP is off by {worst:.1f} mm at one mark after fitting: "
                                "check that the mass sat exactly on each mark and repeat; if "
                                "it persists, check the cells' mounting")
    except cal.CalibrationError as e:
        raise UserError(str(e)) from None
    except (KeyboardInterrupt, EOFError):
        print("\nCalibration stopped; nothing was saved.", file=sys.stderr)
        return 1
    finally:
        src.close()
    path = cal.save(new)
    print(f"Saved calibration {new.id} ({new.method}) for board {st.board_id:08x}: {path}")
    return 0


def cmd_ports(args) -> int:
    from stancelab.board.ports import list_ports

    ports = list_ports(probe=not args.no_probe)
    if not ports:
        print("No serial ports found. Plug the board in (USB) or use --simulate.")
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
