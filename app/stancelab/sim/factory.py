"""The builder's hands for the simulated board: a known mass that goes where a step asks.

The simulated board's cells have their own offsets and a +-1 % gain spread, so nominal gains
would put the COP a few millimetres off. It is calibrated by the same procedure as a real board
(:mod:`stancelab.station.calibrate`), with a :class:`Rig` as the front end: asked for a step it
empties the board or puts the mass on the step's mark (or a set distance off it, to test the
acceptance rule), and its samples come through the real decoder of a fast
:class:`~stancelab.sim.simulated_board.SimulatedBoard`.
"""

from __future__ import annotations

import numpy as np

from stancelab.calibration import CalibrationError
from stancelab.geometry import BoardGeometry, G
from stancelab.sim.athlete import corner_loads
from stancelab.sim.simulated_board import SimulatedBoard
from stancelab.sim.virtual_board import DEFAULT_BOARD_ID, VirtualBoard


def point_load(geom: BoardGeometry, mass_kg: float, x_mm: float, y_mm: float) -> np.ndarray:
    """Corner loads (N) of a point mass, split bilinearly over the cell rectangle."""
    return corner_loads(np.array([[x_mm, y_mm]], float), np.array([mass_kg * G]), geom)[0]


class VirtualMass:
    """What sits on the virtual board: the board's load function."""

    def __init__(self, geometry: BoardGeometry | None = None) -> None:
        self.geom = geometry or BoardGeometry()
        self.loads = np.zeros(4)

    def place(self, mass_kg: float, x_mm: float = 0.0, y_mm: float = 0.0) -> None:
        self.loads = point_load(self.geom, mass_kg, x_mm, y_mm) if mass_kg else np.zeros(4)

    def __call__(self, t_s) -> np.ndarray:
        return np.tile(self.loads, (len(t_s), 1))


class Rig:
    """A virtual board with a known mass on it, streaming in fast mode.

    ``misplaced_mm`` maps a mark number (1-5) to how far (dx, dy) from that mark the mass is put,
    the way a hurried builder would."""

    def __init__(self, seed: int = 0, board: VirtualBoard | None = None,
                 geometry: BoardGeometry | None = None, board_id: int = DEFAULT_BOARD_ID,
                 misplaced_mm: dict[int, tuple[float, float]] | None = None) -> None:
        self.mass = VirtualMass(geometry)
        self.geom = self.mass.geom
        if board is None:
            board = VirtualBoard(self.mass, board_id=board_id, seed=seed)
        else:
            board.hx711.load_fn = self.mass
        self.board = board
        self.misplaced_mm = dict(misplaced_mm or {})
        self.source = SimulatedBoard(board=board, realtime=False, seed=seed,
                                     rate_sps=board.rate_sps)
        self.source.open()
        self.source.start()

    @property
    def loads(self) -> np.ndarray:
        return self.mass.loads

    @loads.setter
    def loads(self, value) -> None:
        self.mass.loads = np.asarray(value, dtype=float)

    def place(self, mass_kg: float, x_mm: float = 0.0, y_mm: float = 0.0) -> None:
        self.mass.place(mass_kg, x_mm, y_mm)

    def hold(self, seconds: float, settle_s: float = 0.25) -> np.ndarray:
        """Counts (N, 4) over ``seconds`` of board time after letting the load settle."""
        self.source.run_for(settle_s)
        return np.array([s.counts for s in self.source.run_for(seconds)], float)

    # -- the front end of the calibration procedure (station.calibrate.Front)
    def prompt(self, step) -> None:
        """Do what the step asks. A refused step would be refused again: say why and stop."""
        if step.problem:
            raise CalibrationError(step.problem)
        dx, dy = self.misplaced_mm.get(step.mark, (0.0, 0.0))
        self.place(step.mass_kg, step.x_mm + dx, step.y_mm + dy)

    def samples(self) -> list:
        return self.source.read()

    def close(self) -> None:
        self.source.close()
