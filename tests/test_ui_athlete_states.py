"""The athlete view's state band follows the drill's live events (real widgets, offscreen)."""

from __future__ import annotations

from stancelab.drills import events as ev
from stancelab.ui.athlete_view import STATES, AthleteView
from test_drills_sim import DrillWarning, SingleLegStand, board, run


def test_a_touchdown_turns_the_band_red_and_lifting_the_foot_turns_it_back(qtbot):
    """A real single-leg stand on the simulated board with touchdowns: its events, fed to the
    view in order, show "Touchdown" from each touchdown cue until the foot is up again."""
    src, cal = board(seed=4, touchdowns_per_min=40.0)
    _, events = run(src, cal, SingleLegStand(legs=["right"], n_trials=1, duration_s=30,
                                             rest_s=0))
    view = AthleteView()
    qtbot.addWidget(view)
    phase, seen = None, []
    for e in events:
        if isinstance(e, ev.PhaseChanged):
            phase = e.phase
        view.render(e, "single-leg", phase)
        if isinstance(e, DrillWarning) and e.code.startswith("touchdown"):
            seen.append((e.code, view.state, view.state_word.text()))
    assert seen, "the simulated athlete touched down"
    for code, state, word in seen:
        if code == "touchdown":
            assert (state, word) == ("touchdown", STATES["touchdown"][2])
        else:
            assert state == "moving" and word == STATES["moving"][2]
