"""`stancelab calibrate` on the simulated board: the builder's steps, saved in the database."""

import io

import pytest

from stancelab import calibration as cal
from stancelab.cli import main
from stancelab.storage import Storage

BOARD = 0x51AB0001


def latest():
    with Storage() as store:
        return store.latest_calibration(BOARD)


def test_calibrate_saves_a_fitted_calibration_used_from_then_on(capsys):
    assert main(["calibrate", "--simulate", "--yes"]) == 0
    err = capsys.readouterr().err
    assert "Step 6" in err and "Verification" in err
    c = latest()
    assert c is not None and c.method == "tare+gain"
    # The virtual cells differ from nominal by about 1 %: the fit found it.
    assert max(abs(g * cal.NOMINAL_COUNTS_PER_N - 1) for g in c.gains_n_per_count) > 0.005


def test_prompts_wait_for_enter_and_q_quits_without_saving(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\nq\n"))
    assert main(["calibrate", "--simulate"]) == 1
    assert "nothing was saved" in capsys.readouterr().err
    assert latest() is None


def test_tare_only_keeps_the_gains(capsys):
    assert main(["calibrate", "--simulate", "--yes"]) == 0
    before = latest()
    assert main(["calibrate", "--simulate", "--yes", "--tare-only"]) == 0
    after = latest()
    assert after.id != before.id and after.gains_n_per_count == before.gains_n_per_count


@pytest.mark.parametrize("mass", ["0", "500"])
def test_implausible_mass_is_refused(mass, capsys):
    assert main(["calibrate", "--simulate", "--yes", "--mass", mass]) == 2
    assert "--mass" in capsys.readouterr().err
