"""Exercises: strength work on one leg, counted rep by rep from the vertical force and the COP.

Read top to bottom: settings (the programme's sets and reps, the detection thresholds), reps
(the streaming rep detectors), scoring (per-rep and per-set numbers), exercise (the state
machine: the drill lifecycle with sets as trials), plan (the 4-week programme and its
adherence). No Qt, no storage: like the drills, an exercise is fed samples and timed by them,
and the DrillRunner records it. Definitions and references: docs/exercises.md.
"""

from stancelab.exercises.exercise import Exercise
from stancelab.exercises.settings import KINDS, TITLES, ExerciseSettings, RepSettings

__all__ = ["KINDS", "TITLES", "Exercise", "ExerciseSettings", "RepSettings"]
