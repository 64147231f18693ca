"""`stancelab run-exercise` end to end on the simulated board, stored in a real SQLite file."""

import json

from stancelab.cli.main import main
from stancelab.storage import Storage


def test_run_exercise_json_and_storage(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    rc = main(["run-exercise", "step-up", "--leg", "left", "--reps", "2", "--athlete", "Ada",
               "--simulate", "--fast", "--json", "--seed", "3"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["exercise"] == "step-up" and out["reps_counted"] == 2
    with Storage(tmp_path / "stancelab.sqlite3") as store:
        (trial,) = store.trials(out["session_id"])
        assert trial.drill == "step-up" and trial.leg == "left" and trial.status == "completed"
        assert trial.metrics["reps_counted"] == 2 and len(trial.metrics["reps"]) == 2
        assert store.sample_count(trial.id) > 0


def test_run_exercise_bad_reps_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    rc = main(["run-exercise", "squat", "--leg", "left", "--reps", "0", "--simulate", "--fast"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "reps must be between 1 and 50" in err


def test_exercise_sets_have_headline_numbers_in_the_summaries(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    assert main(["run-exercise", "squat", "--leg", "right", "--reps", "2", "--sets", "1",
                 "--athlete", "Ada", "--simulate", "--fast", "--seed", "4"]) == 0
    capsys.readouterr()
    with Storage(tmp_path / "stancelab.sqlite3") as store:
        (t,) = store.trial_summaries()
        assert t.drill == "squat" and t.headline["reps_planned"] == 2
        assert t.headline["reps_counted"] == 2 and t.headline["time_under_load_s"] > 0
