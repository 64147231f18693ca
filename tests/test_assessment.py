"""The assessment model: comparable windows, noise-based left/right verdicts, MDC95 progress,
excluded trials; and the rates at which simulated athletes get honest verdicts."""

from __future__ import annotations

import json

import pytest

from stancelab.analysis.assessment import TrialRecord, assess, shown_status

SWAY = {"path_length_mm": 300.0, "ellipse95_area_mm2": 400.0, "mean_velocity_mm_s": 30.0}
KEY = ("time_held_s", "touchdowns", "mean_velocity_mm_s", "ellipse95_area_mm2", "path_length_mm")


def rec(i, leg, *, session=1, held=30.0, touchdowns=0, sway=None, whole=None, status="completed",
        reason=None, drill="single-leg", **extra):
    m = {"time_held_s": held, "touchdowns": touchdowns, **(whole or {}),
         "window": {"window_s": 10.0, "sway": sway, "reason": None if sway else "too short"},
         **extra}
    return TrialRecord(i, session, f"2026-01-{session:02d}T10:00", drill, leg, "eyes open",
                       status, reason, m, {})


def rows(a):
    return {r.metric: r for r in a.sides[0].rows}


def test_the_short_leg_sway_is_not_comparable_and_whole_trial_sway_is_never_used():
    # The old bug: the weak left leg's sway over 2.9 s looked "better" than the right's over 20 s.
    a = assess([rec(1, "left", held=2.9, touchdowns=1, sway=None,
                    whole={"path_length_mm": 133.0}),
                rec(2, "right", held=20.0, sway=dict(SWAY), whole={"path_length_mm": 677.0})])
    r = rows(a)
    assert a.sides[0].window_s == 10.0
    assert r["path_length_mm"].verdict == "not comparable"
    assert r["path_length_mm"].left is None and r["path_length_mm"].right == 300.0
    assert "10 s window" in r["path_length_mm"].reason
    assert r["path_length_mm"].better is None


def test_several_trials_a_gap_within_the_trial_noise_is_no_clear_difference_but_stays_flagged():
    left = [rec(i, "left", sway={"path_length_mm": v}) for i, v in ((1, 300), (2, 380), (3, 260))]
    right = [rec(i, "right", sway={"path_length_mm": v}) for i, v in ((4, 330), (5, 250), (6, 280))]
    r = rows(assess(left + right))["path_length_mm"]
    assert (r.n_left, r.n_right) == (3, 3)
    assert r.left_sd > 0 and r.noise > abs(r.left - r.right)
    assert r.verdict == "no clear difference"
    # a real gap: every left trial far above every right trial
    left = [rec(i, "left", sway={"path_length_mm": v}) for i, v in ((1, 500), (2, 510), (3, 490))]
    r = rows(assess(left + right))["path_length_mm"]
    assert r.verdict == "right better" and r.better == "right" and r.flagged


def test_a_flagged_gap_from_noise_gets_no_verdict():
    left = [rec(i, "left", sway={"path_length_mm": v}) for i, v in ((1, 250), (2, 400), (3, 280))]
    right = [rec(i, "right", sway={"path_length_mm": v}) for i, v in ((4, 300), (5, 260), (6, 240))]
    r = rows(assess(left + right))["path_length_mm"]
    assert r.flagged and r.verdict == "no clear difference"


def test_one_trial_per_leg_uses_the_published_error_or_gives_no_verdict():
    a = assess([rec(1, "left", sway={"path_length_mm": 300.0, "ellipse95_area_mm2": 900.0}),
                rec(2, "right", sway={"path_length_mm": 420.0, "ellipse95_area_mm2": 300.0})])
    r = rows(a)
    assert "published" in r["path_length_mm"].noise_source
    assert r["path_length_mm"].verdict == "left better"      # 120 mm > 1.96*0.12*360*sqrt(2)
    assert r["ellipse95_area_mm2"].noise is None
    assert r["ellipse95_area_mm2"].verdict == "no clear difference"
    assert "1 valid trial" in r["ellipse95_area_mm2"].reason


def test_progress_is_real_only_beyond_the_mdc95():
    base = [rec(i, "left", session=1, held=v) for i, v in ((1, 10.0), (2, 12.0), (3, 11.0))]
    near = [rec(i, "left", session=2, held=v) for i, v in ((4, 12.0), (5, 13.0), (6, 11.0))]
    far = [rec(i, "left", session=3, held=v) for i, v in ((7, 25.0), (8, 26.0), (9, 24.0))]
    a = assess(base + near + far)
    p = {(x.metric, x.reassessment_session): x for x in a.progress}
    held = p[("time_held_s", 3)]
    assert held.baseline_session == 1 and held.verdict == "better"
    assert held.mdc95 == pytest.approx(1.96 * 2 ** 0.5 * 1.0)   # pooled within-session SD 1
    a = assess(base + near + far, baseline_session=1, reassessment_session=2)
    held = next(x for x in a.progress if x.metric == "time_held_s")
    assert held.verdict == "within measurement noise" and held.reassessment_session == 2


def test_faulty_aborted_and_interrupted_trials_are_excluded_with_the_reason():
    recs = [rec(1, "left", sensor_ok=False, reason="recorded through a sensor fault: cell 2 dead"),
            rec(2, "left", status="interrupted", reason="power cut"),
            rec(3, "left", lost_frames=500, samples=2400),
            rec(4, "left", status="aborted", reason="stepped off", held=4.0, touchdowns=1),
            rec(5, "right", drill="clock", status="aborted", reason="stopped by the coach"),
            rec(6, "right")]
    a = assess(recs)
    why = {e.trial_id: e.reason for e in a.excluded}
    assert set(why) == {1, 2, 3, 5}
    assert "cell 2 dead" in why[1] and "power cut" in why[2] and "lost frames" in why[3]
    assert rows(a)["time_held_s"].left == 4.0          # stepping off is a result
    status = {e.trial_id: e.status for e in a.excluded}
    assert status == {1: "sensor fault", 2: "interrupted", 3: "completed", 5: "aborted"}
    json.dumps(a.to_dict())


def test_a_sensor_fault_is_the_status_every_face_shows():
    fault = "stopped early; recorded through a sensor fault: the back-left cell stopped"
    assert shown_status("completed", fault) == "sensor fault"             # lists: columns only
    assert shown_status("completed", None, {"sensor_ok": False}) == "sensor fault"
    assert shown_status("aborted", fault) == "sensor fault"
    assert shown_status("completed", "stepped off", {"sensor_ok": True}) == "completed"
    assert shown_status("recording", fault) == "recording"                # not finished yet


def test_compare_cli_on_the_reported_case(capsys):
    from stancelab import cli

    assert cli.main(["run-drill", "single-leg", "--athlete", "W", "--simulate", "--fast",
                     "--weak-left", "0.3", "--trials", "1", "--duration", "20", "--rest", "2",
                     "--json"]) in (0, 1)
    capsys.readouterr()
    assert cli.main(["compare", "--athlete", "W", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    entry = out["drills"]["single-leg"]
    assert entry["window_s"] == 10.0 and entry["trials"] == {"left": 1, "right": 1}
    for r in entry["rows"]:
        assert {"metric", "left", "right", "better", "flagged", "verdict", "noise"} <= set(r)
        assert r["verdict"] != "left better", r
    assert cli.main(["compare", "--athlete", "W", "--baseline", "999"]) == 2
    assert "no session 999" in capsys.readouterr().err


# ------------------------------------------------------------------ rates on simulated athletes
def _verdicts(seed, weakness, n_trials, duration_s, tmp_path):
    from stancelab.drills import SingleLegStand
    from stancelab.station.assessment import load_assessment
    from stancelab.storage import Storage
    from test_drills_sim import FOOT_MM, board, run

    store = Storage(tmp_path / f"r{seed}-{'-'.join(weakness) or 'sym'}-{n_trials}.sqlite3")
    try:
        athlete = store.add_athlete("R", FOOT_MM)
        src, cal = board(seed=seed, weakness=weakness)
        run(src, cal, SingleLegStand(n_trials=n_trials, duration_s=duration_s, rest_s=2,
                                     foot_length_mm=FOOT_MM), store, athlete.id,
            max_polls=200_000)
        a = load_assessment(store, athlete.id)
    finally:
        store.close()
    return {r.metric: r.verdict for r in a.sides[0].rows if r.metric in KEY}


def _rates(seeds, protocols, tmp_path):
    out = {}
    for n_trials, dur in protocols:
        for label, weak in (("weak left", {"left": 0.3}), ("weak right", {"right": 0.3}),
                            ("symmetric", {})):
            res = [_verdicts(s, weak, n_trials, dur, tmp_path) for s in seeds]
            wrong = {"weak left": "left better", "weak right": "right better"}.get(label)
            for m in KEY:
                vs = [r.get(m, "absent") for r in res]
                out[(n_trials, dur, label, m)] = (
                    sum(v == wrong for v in vs), sum(v == "no clear difference" for v in vs),
                    sum(v.endswith("better") and v != wrong for v in vs), len(vs))
    print("\nprotocol        athlete     metric                weak-better  no-clear  "
          "strong-better  n")
    for (nt, d, label, m), (w, nc, sb, n) in out.items():
        print(f"{nt} x {d:>4g} s    {label:<11} {m:<22} {w:>6}      {nc:>6}    {sb:>6}   {n:>3}")
    return out


def _check(out):
    for (_nt, _d, label, m), (wrong, no_clear, _sb, n) in out.items():
        if label == "symmetric":
            assert no_clear >= 0.9 * n, (label, m, no_clear, n)
        else:
            assert wrong == 0, (label, m, wrong, n)


def test_weak_side_is_never_called_better_quick(tmp_path):
    _check(_rates([1, 2], [(1, 12.0)], tmp_path))


@pytest.mark.slow
def test_weak_side_is_never_called_better_and_symmetric_gets_no_clear_difference(tmp_path):
    _check(_rates(list(range(10)), [(3, 30.0), (1, 12.0)], tmp_path))
