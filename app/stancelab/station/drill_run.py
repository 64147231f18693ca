"""Running a drill from start to end outside the GUI: the `stancelab run-drill` procedure.

Set up: the calibration that applies, a DrillRunner over the board, and on the simulated board
the autopilot that makes the virtual athlete follow the cues. Execute: poll the runner until the
drill is done (paced at 50 Hz against a real board, as fast as possible in fast mode), handing
every event to ``on_events`` (``on_started`` hears of the set-up first). Shut down: the runner closed (writers flushed, open trials given
their status) and the board closed, also after Ctrl-C. The GUI drives the same DrillRunner from
its one timer instead (ui/screens/drills.py): a drill is a state machine fed samples, so both
front ends run the same drill.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from stancelab.drills.runner import DrillRunner
from stancelab.station.calibrations import calibration_for
from stancelab.station.procedure import Procedure

POLL_S = 0.02


class DrillRun(Procedure):
    def __init__(self, store, source, drill, athlete_id: int, *, realtime: bool = True,
                 on_events: Callable[[list], None] | None = None,
                 on_started: Callable[[DrillRun], None] | None = None) -> None:
        super().__init__()
        self.store, self.source, self.drill, self.athlete_id = store, source, drill, athlete_id
        self.realtime = realtime and source.state.kind != "replay"
        self.on_events = on_events or (lambda events: None)
        self.on_started = on_started or (lambda run: None)
        self.calibration = None
        self.runner: DrillRunner | None = None
        self.pilot = None

    def startup(self) -> None:
        st = self.source.state
        self.calibration = calibration_for(self.store, st)
        if st.kind == "simulated":
            from stancelab.sim.autopilot import Autopilot

            self.pilot = Autopilot(self.source)
        self.runner = DrillRunner(self.source, self.calibration, self.drill, store=self.store,
                                  athlete_id=self.athlete_id)
        self.on_started(self)

    def execute(self) -> None:
        runner = self.runner
        try:
            while not runner.finished:
                if self.should_stop():
                    self.on_events(runner.stop(self.stop_reason or "stopped"))
                    break
                events = runner.poll()
                if self.pilot is not None:
                    self.pilot(events)
                self.on_events(events)
                if self.realtime:
                    time.sleep(POLL_S)
        except KeyboardInterrupt:
            self.on_events(runner.stop("stopped with Ctrl-C"))
            raise

    def shutdown(self) -> None:
        try:
            if self.runner is not None and not self.runner.finished:
                # Ended early (an error in the front end, Ctrl-C): the open trial keeps its
                # samples and says why, instead of waiting for the next start's recovery.
                self.runner.stop(self.stop_reason or "stopped by an error in the program")
        finally:
            self.source.close()

    @property
    def results(self):
        return self.runner.results if self.runner is not None else []

    @property
    def session_id(self):
        return self.runner.session_id if self.runner is not None else None
