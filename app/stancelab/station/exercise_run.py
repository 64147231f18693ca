"""Running an exercise from start to end outside the GUI: the `stancelab run-exercise` procedure.

The drill procedure (station/drill_run.py) with the exercise's autopilot on the simulated board:
the simulated athlete steps on to be weighed, then performs each set the exercise asks for
(sim/exercises.py). An exercise is a Drill, so the same DrillRunner records it.
"""

from __future__ import annotations

from stancelab.station.drill_run import DrillRun


class ExerciseRun(DrillRun):
    def startup(self) -> None:
        super().startup()
        performer = getattr(self.source, "athlete", None)
        if self.pilot is not None and hasattr(performer, "perform_set"):
            from stancelab.sim.exercises import ExercisePilot

            self.pilot = ExercisePilot(self.source, performer)
