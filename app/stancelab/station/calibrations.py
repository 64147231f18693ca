"""Which calibration applies to a board: the one place that decides.

A board's newest saved calibration, else nominal gains (usable for a first look, flagged as
approximate). The simulated board is calibrated on first use by the same procedure a builder
follows, so the demo never runs on nominal gains.
"""

from __future__ import annotations

from stancelab import calibration as cal
from stancelab.board.source import SourceState


def calibration_for(store, state: SourceState) -> cal.Calibration:
    """The calibration to apply to the board in ``state``; ``store`` is the database."""
    if state.kind == "simulated":
        from stancelab.sim.factory import ensure_calibrated

        return ensure_calibrated(state.board_id)
    return cal.for_board(state.board_id, state.firmware)
