"""Faults while the command line records: the board unplugged mid-trial, the recorder killed.

The board is a VirtualBoard behind a real pty (tests/pty_peer.py) that logs every sample frame it
writes; the recorder is the real `stancelab` command in a child process, opening the pty through a
symlink the peer removes on unplug and re-points on replug, as udev does with
/dev/serial/by-id/... names. Counts are checked against the peer's log and times in device time,
never against the wall clock.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from stancelab.board import protocol
from stancelab.board.serial_board import SerialBoard
from stancelab.calibration import default_calibration
from stancelab.drills import DrillRunner, QuietStance
from stancelab.drills.settings import for_athlete
from stancelab.storage import Storage

sys.path.insert(0, str(Path(__file__).parent))
from pty_peer import BOARD_ID, PtyPeer

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="needs ptys")

STANDING_MASS_KG = 4 * 175.0 / 9.80665   # the peer's athlete: 175 N on each corner
IN_FLIGHT_US = 100_000   # bytes a USB chip had not handed over when the cable went


def stancelab(*argv, **kw):
    return subprocess.Popen([sys.executable, "-m", "stancelab", *argv], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def sessions():
    return subprocess.run([sys.executable, "-m", "stancelab", "sessions"], capture_output=True,
                          text=True, timeout=60, check=False)


def wait_for(predicate, timeout_s=30.0, what="condition"):
    """Polls a condition (a guard against a hung child, not a timing assertion)."""
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def samples_after_start(peer, count):
    """Wait until the peer has written ``count`` sample frames after the host's START."""
    wait_for(lambda: protocol.C_START in peer.commands, what="START")
    n0 = len(peer.sent_samples)
    wait_for(lambda: len(peer.sent_samples) >= n0 + count, what=f"{count} samples")


def stored(trial_id):
    with Storage() as store:
        return store.trial(trial_id), store.read_samples(trial_id)


def t_us(samples):
    return np.round(samples.t_s * 1e6).astype(np.int64)


def check_against_peer(peer, got, gaps):
    """Every stored sample was sent once; every sent sample in the recorded span is stored,
    except in ``gaps`` (device-time intervals where frames were in flight or before START)."""
    us = t_us(got)
    assert len(got) > 0
    assert np.all(np.diff(us) > 0), "device time must strictly increase (no duplicates)"
    pairs = list(zip(got.seq.tolist(), us.tolist()))
    assert len(set(pairs)) == len(pairs)
    sent = [(s, t) for s, t in peer.sent_samples if us[0] <= t <= us[-1]]
    assert set(pairs) <= set(sent), "a stored sample the board never sent"
    missing = sorted(set(sent) - set(pairs), key=lambda p: p[1])
    for _, t in missing:
        assert any(a < t <= b for a, b in gaps), f"sample at {t} us received but not stored"
    return missing


# ------------------------------------------------------------------ unplugged mid-trial

def test_record_survives_unplug_and_replug(tmp_path):
    peer = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    try:
        proc = stancelab("record", "--port", peer.path, "--seconds", "5", "--athlete", "Una")
        samples_after_start(peer, 120)
        peer.unplug()
        time.sleep(1.0)
        peer.replug()
        _, err = proc.communicate(timeout=60)
    finally:
        peer.close()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "was disconnected" in err and "Every sample received so far is kept" in err
    assert "The board is back" in err
    trial, got = stored(1)
    assert trial.status == "interrupted" and "disconnected 1 time(s)" in trial.reason
    assert trial.metrics["samples"] == len(got)
    lost_at, back_at = peer.unplugged_device_us, peer.replugged_device_us
    us = t_us(got)
    first_back = int(us[us > lost_at][0])
    # Reconnected on its own: streaming again within 2 s of device time of the board returning.
    assert 0 < first_back - back_at <= 2_000_000
    missing = check_against_peer(peer, got, [(lost_at - IN_FLIGHT_US, lost_at),
                                             (lost_at, first_back)])
    assert len([m for m in missing if m[1] <= lost_at]) <= 8   # at most 0.1 s in flight
    # The recording ran to its end after the return: 5 s of device time in all.
    assert us[-1] - us[0] == pytest.approx(5e6, abs=30_000)
    gap = trial.metrics["gaps_t_s"][0]
    assert gap[1] - gap[0] == pytest.approx((first_back - gap[0] * 1e6) / 1e6, abs=1e-6)


def test_record_marks_interrupted_when_the_board_stays_away(tmp_path):
    peer = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    try:
        proc = stancelab("record", "--port", peer.path, "--seconds", "30", "--athlete", "Una",
                         "--reconnect-wait", "1")
        samples_after_start(peer, 80)
        peer.unplug()
        _, err = proc.communicate(timeout=60)
    finally:
        peer.close()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert "did not come back within 1 s" in err
    trial, got = stored(1)
    assert trial.status == "interrupted" and "did not come back" in trial.reason
    lost_at = peer.unplugged_device_us
    missing = check_against_peer(peer, got, [(lost_at - IN_FLIGHT_US, lost_at)])
    assert len(missing) <= 8
    assert t_us(got)[-1] >= lost_at - IN_FLIGHT_US   # kept up to the moment of the unplug


def test_run_drill_unplugged_mid_trial_keeps_samples_and_says_so(tmp_path):
    peer = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    lines = []
    try:
        proc = stancelab("run-drill", "quiet", "--port", peer.path, "--athlete", "Dru",
                         "--mass", f"{STANDING_MASS_KG:.2f}", "--duration", "20")
        for line in proc.stdout:
            lines.append(line)
            if "STAND QUIETLY" in line:
                break
        samples_after_start(peer, 0)
        n = len(peer.sent_samples)
        wait_for(lambda: len(peer.sent_samples) >= n + 80, what="one second of the trial")
        peer.unplug()
        out, err = proc.communicate(timeout=60)
        lines.append(out)
        peer.replug()   # coming back after the drill ended must not matter
    finally:
        peer.close()
    text = "".join(lines)
    assert proc.returncode == 1, err
    assert "Traceback" not in err + text
    assert "disconnected" in text and "interrupted" in text
    with Storage() as store:
        (trial,) = store.trials(1)
        got = store.read_samples(trial.id)
    assert trial.status == "interrupted" and "disconnected" in trial.reason
    assert "active" in set(got.phase)   # the samples of the trial itself are kept
    lost_at = peer.unplugged_device_us
    missing = check_against_peer(peer, got, [(lost_at - IN_FLIGHT_US, lost_at)])
    assert len(missing) <= 8


class _UnplugDuringRead(SerialBoard):
    """Unplugs the peer right after a read returns, once more samples have been queued: the
    moment where a consumer that checks the connection after reading would lose them."""

    peer = None
    armed = False

    def read(self, timeout=0.0, max_samples=None):
        out = super().read(timeout, max_samples)
        if self.armed and out:
            self.armed = False
            with self._cond:
                self._cond.wait_for(lambda: len(self._queue) >= 4, 5.0)
            self.peer.unplug()
            end = time.monotonic() + 10
            while self.state.connected and time.monotonic() < end:
                time.sleep(0.005)
        return out


def test_drill_runner_keeps_samples_queued_when_the_board_vanished(tmp_path):
    peer = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    board = _UnplugDuringRead(peer.path, auto_reconnect=False)
    board.peer = peer
    store = Storage(tmp_path / "db.sqlite3")
    try:
        board.open()
        athlete = store.add_athlete("Run")
        s = for_athlete("quiet", {"body_mass_kg": STANDING_MASS_KG}, duration_s=30.0)
        runner = DrillRunner(board, default_calibration(BOARD_ID), QuietStance.from_settings(s),
                             store=store, athlete_id=athlete.id)
        runner.start()
        wait_for(lambda: len(peer.sent_samples) >= 40, what="samples")
        board.armed = True
        while not runner.finished:
            runner.poll()
            time.sleep(0.01)
        (tid,) = runner.trial_ids.values()
        got = store.read_samples(tid)
        assert store.trial(tid).status == "interrupted"
        # Everything the board delivered before the loss was drained and stored.
        assert board.read() == [], "samples left behind in the queue"
        assert len(got) == runner.samples_written
        lost_at = peer.unplugged_device_us
        check_against_peer(peer, got, [(lost_at - IN_FLIGHT_US, lost_at)])
        assert t_us(got)[-1] >= lost_at - IN_FLIGHT_US
    finally:
        board.close()
        peer.close()
        store.close()


# ------------------------------------------------------------------ killed while recording

def test_sigkill_of_the_recorder_is_recovered_at_the_next_start(tmp_path):
    peer = PtyPeer(link_path=str(tmp_path / "ttyStanceLab")).start()
    try:
        proc = stancelab("record", "--port", peer.path, "--seconds", "60", "--athlete", "Kai")
        samples_after_start(peer, 240)   # three seconds of samples
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        sent = list(peer.sent_samples)
        proc.stdout.close()
        proc.stderr.close()
    finally:
        peer.close()
    # The very next start, at once (no waiting for a heartbeat to go stale), finds it.
    nxt = sessions()
    assert nxt.returncode == 0 and "Traceback" not in nxt.stderr, nxt.stderr
    assert "Recovered an interrupted recording: trial 1 of session 1" in nxt.stderr
    assert "interrupted" in nxt.stdout
    trial, got = stored(1)
    assert trial.status == "interrupted" and "stopped while recording" in trial.reason
    assert f"{len(got)} samples kept" in nxt.stderr
    # The stored samples are exactly the first ones the board sent after START ...
    us = t_us(got)
    start = next(i for i, (_, t) in enumerate(sent) if t == us[0])
    assert list(zip(got.seq.tolist(), us.tolist())) == sent[start:start + len(got)]
    # ... and at most the last second of what had been sent before the kill is missing.
    assert len(sent) - start - len(got) <= 80
    # A second start finds nothing more to recover.
    again = sessions()
    assert "Recovered" not in again.stderr


# ------------------------------------------------------------------ athlete faults
# Stepping off (single-leg), touchdowns, moving before the countdown ends and never reaching a
# target are covered in tests/test_drills_sim.py; stepping off in the middle of a clock drill
# was not.

def test_stepping_off_mid_clock_keeps_the_targets_done_and_gives_no_overall_score(tmp_path):
    from stancelab.cli.drill_commands import compare_athlete
    from stancelab.drills import ClockBalance, Phase, PhaseChanged, Score
    from stancelab.geometry import FootModel
    from test_drills_sim import FOOT_MM, board, run

    src, cal = board(seed=7)
    scored = []

    def step_off_after_two(events, src):
        for e in events:
            if isinstance(e, Score):
                scored.append(e)
                if len(scored) == 2:
                    src.set_stance("off", 0.5)

    with Storage(tmp_path / "db.sqlite3") as store:
        athlete = store.add_athlete("Clo", FOOT_MM)
        drill = ClockBalance("left", FootModel(FOOT_MM, "left"), target_fraction=0.6)
        runner, events = run(src, cal, drill, store, athlete.id, on_events=step_off_after_two)
        (result,) = runner.results
        assert result.status == "aborted" and "stepped off" in result.reason
        assert len(result.metrics["targets"]) == 2 == len(scored)
        # No edge-reach score from two of twelve directions.
        assert not any("edge_reach" in k or "area" in k for k in result.metrics)
        assert any(isinstance(e, PhaseChanged) and e.phase == Phase.ABORTED for e in events)
        stored_trial = store.trial(runner.trial_ids[0])
        assert stored_trial.status == "aborted"
        # Stored metrics are the drill's plus the sensor-health flags of the trial.
        assert stored_trial.metrics == {**result.metrics, "sensor_ok": True,
                                        "sensor_faults": [], "sensor_advice": []}
        # ... and an aborted clock trial never enters a left/right comparison.
        src2, cal2 = board(seed=8)
        right = ClockBalance("right", FootModel(FOOT_MM, "right"), target_fraction=0.6)
        done, _ = run(src2, cal2, right, store, athlete.id)
        assert done.results[0].status == "completed"
        assert "clock" not in compare_athlete(store, athlete.id)[0]
