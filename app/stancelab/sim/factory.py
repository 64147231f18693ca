"""Calibrate a virtual board the way a builder calibrates a real one.

The simulated board's cells have their own offsets and a +-1 % gain spread, so nominal gains
would put the COP a few millimetres off. On first use the simulated board is calibrated by the
real procedure: tare on the empty board, then a 20 kg mass held at the five marks, fitted by
least squares (stancelab.calibration). The result is saved like any other calibration.
"""

from __future__ import annotations

import numpy as np

from stancelab import calibration as cal
from stancelab.board import protocol
from stancelab.geometry import BoardGeometry, G
from stancelab.sim.athlete import corner_loads
from stancelab.sim.virtual_board import VirtualBoard

#: The five marks of the calibration template (mm): centre and four points inside the cells.
CALIBRATION_MARKS_MM = ((0.0, 0.0), (-150.0, 100.0), (150.0, 100.0), (-150.0, -100.0),
                        (150.0, -100.0))
CALIBRATION_MASS_KG = 20.0


def point_load(geom: BoardGeometry, mass_kg: float, x_mm: float, y_mm: float) -> np.ndarray:
    """Corner loads (N) of a point mass, split bilinearly over the cell rectangle."""
    return corner_loads(np.array([[x_mm, y_mm]], float), np.array([mass_kg * G]), geom)[0]


class Rig:
    """A virtual board with something placed on it, read through the real decoder."""

    def __init__(self, seed: int = 0, board: VirtualBoard | None = None,
                 geometry: BoardGeometry | None = None):
        self.geom = geometry or BoardGeometry()
        self.loads = np.zeros(4)
        self.board = board or VirtualBoard(self._load_fn, seed=seed)
        if board is not None:
            board.hx711.load_fn = self._load_fn
        self.dec = protocol.Decoder()
        self.dec.feed(self.board.boot())
        self.dec.feed(self.board.receive(protocol.cmd_start()))

    def _load_fn(self, t):
        return np.tile(self.loads, (len(t), 1))

    def place(self, mass_kg: float, x_mm: float = 0.0, y_mm: float = 0.0) -> None:
        self.loads = point_load(self.geom, mass_kg, x_mm, y_mm) if mass_kg else np.zeros(4)

    def hold(self, seconds: float, settle_s: float = 0.25) -> np.ndarray:
        """Counts (N, 4) over ``seconds`` after letting the load settle."""
        self.board.advance(settle_s)
        frames = self.dec.feed(self.board.advance(seconds))
        return np.array([f.counts for f in frames if isinstance(f, protocol.SampleFrame)], float)


def calibrate(rig: Rig, hold_s: float = 1.0) -> cal.GainFit:
    """Tare, then the calibration mass at each mark; returns the fit (with verification)."""
    rig.place(0.0)
    firmware = ".".join(str(v) for v in rig.board.firmware)
    c = cal.tare(cal.default_calibration(rig.board.board_id, firmware), rig.hold(2.0))
    placements = []
    for x, y in CALIBRATION_MARKS_MM:
        rig.place(CALIBRATION_MASS_KG, x, y)
        placements.append(cal.Placement(CALIBRATION_MASS_KG, x, y,
                                        tuple(rig.hold(hold_s).mean(axis=0))))
    rig.place(0.0)
    return cal.fit_gains(c, placements)


def ensure_calibrated(board_id: int, seed: int = 0) -> cal.Calibration:
    """The saved calibration of a virtual board, made (and saved) on first use."""
    existing = cal.load_latest(board_id)
    if existing is not None:
        return existing
    rig = Rig(seed=seed, board=VirtualBoard(lambda t: np.zeros((len(t), 4)), board_id=board_id,
                                            seed=seed))
    fit = calibrate(rig)
    cal.save(fit.calibration)
    return fit.calibration
