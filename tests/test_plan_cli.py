"""`stancelab plan` end to end on a real SQLite file and the simulated board."""

import json

from stancelab.cli.main import main


def test_plan_start_edit_run_show(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    assert main(["plan", "start", "--athlete", "Ada", "--weeks", "1", "--per-week", "1"]) == 0
    # a short session so the test runs quickly: one step-up per leg, nothing else
    for listed in ("training", "assessment"):
        extra = ["--assessment"] if listed == "assessment" else []
        assert main(["plan", "edit", "--athlete", "Ada", "--items", "step-up", "--set",
                     "step-up.reps=1", *extra]) == 0
    capsys.readouterr()
    assert main(["plan", "run", "--athlete", "Ada", "--simulate", "--fast", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "Done: baseline" in out and "adherence: 1 of 3 sessions" in out
    rc = main(["plan", "show", "--athlete", "Ada", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert rc == 0 and shown["progress"]["planned"] == 3 and shown["progress"]["done"] == 1
    assert shown["progress"]["next_session"]["label"] == "week 1 session 1"
    assert [i["reps"] for i in shown["spec"]["training"] if i["name"] == "step-up"] == [1]


def test_plan_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STANCELAB_DATA_DIR", str(tmp_path))
    assert main(["plan", "show", "--athlete", "Nobody"]) == 2
    assert "start a plan with `stancelab plan start" in capsys.readouterr().err
    main(["plan", "start", "--athlete", "Ada"])
    capsys.readouterr()
    assert main(["plan", "edit", "--athlete", "Ada", "--set", "squat.depth=3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ITEM.FIELD=VALUE" in err
    assert main(["plan", "edit", "--athlete", "Ada", "--weeks", "0"]) == 2
    assert "1-26 weeks" in capsys.readouterr().err
