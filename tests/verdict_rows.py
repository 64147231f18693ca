"""The left/right rows each face shows, extracted the same way, so tests can compare the faces.

A row is ``(condition, metric, left, right, verdict)``: what a coach reads on one line. Each
face has its extractor: :func:`rows_from_json` (`stancelab compare --json`),
:func:`rows_from_table` (the Compare screen's table widget); a PDF extractor belongs here too
(the report reads the same model). :func:`record_athlete` stores the trials they are fed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

Row = tuple  # (condition, metric, left, right, verdict)


def rows_from_json(doc: dict, drill: str) -> list[Row]:
    """The rows of one drill in `stancelab compare --json` output (every condition)."""
    out = []
    for key, entry in doc["drills"].items():
        if key.split(" (")[0] != drill:
            continue
        out += [(entry["condition"], r["metric"], r["left"], r["right"], r["verdict"])
                for r in entry["rows"]]
    return out


def rows_from_table(table, conditions: list) -> list[Row]:
    """The rows of the Compare screen's table: the metric key and the values are the cells'
    UserRole data, the verdict the cell's text. A row spanning the table starts a condition
    (shown when the drill has more than one); ``conditions`` are the drill's, in order."""
    out = []
    cond_iter = iter(conditions)
    cond = conditions[0] if len(conditions) == 1 else None
    for i in range(table.rowCount()):
        if table.columnSpan(i, 0) > 1:
            cond = next(cond_iter)
            assert table.item(i, 0).text() == (cond or "")
            continue

        def cell(j, row=i):
            return table.item(row, j)

        out.append((cond, cell(0).data(Qt.ItemDataRole.UserRole),
                    cell(1).data(Qt.ItemDataRole.UserRole),
                    cell(2).data(Qt.ItemDataRole.UserRole), cell(5).text()))
    return out


def record_athlete(name: str = "W", fault_at_s: float | None = 45.0) -> dict:
    """Two single-leg sessions of a simulated athlete whose left leg is weaker, into the
    database every face opens (STANCELAB_DATA_DIR): 2 trials per leg each (left, right, left,
    right); in the second a cell dies ``fault_at_s`` seconds of board time in (45 s: during the
    third trial), so the trials from then on are recorded through the fault.
    Returns {"athlete_id", "sessions": [ids], "faulty": [trial ids]}."""
    from stancelab.drills import SingleLegStand
    from stancelab.sim.hx711 import ChannelFault
    from stancelab.storage import Storage
    from test_drills_sim import FOOT_MM, board, run

    store = Storage()
    try:
        athlete = store.add_athlete(name, FOOT_MM)
        sessions = []
        for seed, faults in ((3, None), (4, {2: ChannelFault("dead", at_s=fault_at_s)}
                                         if fault_at_s is not None else None)):
            src, cal = board(seed=seed, faults=faults, weakness={"left": 0.3})
            try:
                runner, _ = run(src, cal, SingleLegStand(n_trials=2, duration_s=12.0, rest_s=2.0,
                                                         foot_length_mm=FOOT_MM),
                                store, athlete.id, max_polls=200_000)
            finally:
                src.close()
            sessions.append(runner.session_id)
        faulty = [t.id for t in store.trials_for_athlete(athlete.id)
                  if t.metrics.get("sensor_ok") is False]
    finally:
        store.close()
    return {"athlete_id": athlete.id, "sessions": sessions, "faulty": faulty}
