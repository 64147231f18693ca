"""Recording raw samples from a board into the database: the `stancelab record` procedure.

Set up: the stored session and trial (with the calibration that applies), the sample writer, the
board streaming. Execute: samples until N seconds of device time, riding out an unplugged board
for up to ``reconnect_wait_s`` (the gap is recorded, the trial marked interrupted). Shut down:
the writer flushed and closed, the trial given its status and counts, the board closed — also
after Ctrl-C or a database error, so everything committed stays.

The procedure talks to its front end only through ``on_event(kind, **details)``:
``started`` (session, trial, calibration), ``progress`` (done_s, samples, lost),
``disconnected`` (message), ``back`` (after_s).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from stancelab.board.source import Source
from stancelab.station.calibrations import calibration_for
from stancelab.station.procedure import Procedure
from stancelab.storage import StorageError

#: An unplugged board that is back within this many seconds continues the same recording.
RECONNECT_WAIT_S = 10.0


class Recording(Procedure):
    def __init__(self, store, source: Source, athlete_id: int, seconds: float, *,
                 reconnect_wait_s: float = RECONNECT_WAIT_S,
                 on_event: Callable[..., None] | None = None) -> None:
        super().__init__()
        if not seconds > 0:
            raise ValueError("the recording needs a duration of more than 0 s")
        self.store, self.source, self.athlete_id = store, source, athlete_id
        self.seconds, self.reconnect_wait_s = float(seconds), float(reconnect_wait_s)
        self.on_event = on_event or (lambda kind, **details: None)
        self.session = self.trial = self.calibration = self.writer = None
        self.trial_status, self.reason = "completed", None
        self.samples = self.lost = self.kept = 0
        self.gaps: list[list[float | None]] = []  # device time [last before, first after]
        self.db_error: StorageError | None = None

    def startup(self) -> None:
        st = self.source.state
        self.calibration = calibration_for(self.store, st)
        self.session = self.store.start_session(
            athlete_id=self.athlete_id, source_kind=st.kind, board_id=st.board_id,
            firmware=st.firmware, calibration=self.calibration)
        self.trial = self.store.start_trial(
            self.session.id, "recording",
            settings={"seconds": self.seconds, "source": st.description,
                      "rate_sps": st.nominal_rate_sps})
        self.on_event("started", session=self.session, trial=self.trial,
                      calibration=self.calibration)
        self.writer = self.store.sample_writer(self.trial.id)
        self.source.start()

    def execute(self) -> None:
        src = self.source
        # N seconds at R samples/s is N*R samples: stop half a period early, since device
        # timestamps jitter by the firmware's loop latency (tens of microseconds).
        end_s = self.seconds - 0.5 / (src.state.nominal_rate_sps or 80)
        t0 = last_t = None
        disconnected_since = None
        try:
            while not self.should_stop():
                samples = src.read(timeout=0.1)
                if samples:
                    if t0 is None:
                        t0 = samples[0].t_s
                    if self.gaps and self.gaps[-1][1] is None:
                        self.gaps[-1][1] = samples[0].t_s
                    keep = [s for s in samples if s.t_s - t0 < end_s]
                    self.writer.extend(keep)
                    self.samples += len(keep)
                    last_t = samples[-1].t_s
                    if len(keep) < len(samples):
                        break
                else:
                    self.writer.tick()
                st = src.state
                self.lost = st.lost_frames
                if not samples and st.kind == "replay" and not st.streaming:
                    # The file ended before N seconds: keep what it held and say so.
                    held = (last_t - t0) if t0 is not None else 0.0
                    self.reason = (f"the file holds {held + 1 / (st.nominal_rate_sps or 80):.2f}"
                                   f" s, less than the {self.seconds:g} s asked for")
                    break
                if not st.connected:
                    if st.kind == "replay":
                        break  # end of file
                    if disconnected_since is None:
                        disconnected_since = time.monotonic()
                        self.gaps.append([last_t, None])
                        self.on_event("disconnected", message=st.error
                                      or "The board disconnected.")
                    if time.monotonic() - disconnected_since > self.reconnect_wait_s:
                        self.trial_status, self.reason = "interrupted", (
                            f"the board disconnected and did not come back within "
                            f"{self.reconnect_wait_s:g} s; {self.samples} samples kept")
                        break
                elif disconnected_since is not None:
                    self.on_event("back", after_s=time.monotonic() - disconnected_since)
                    disconnected_since = None
                if samples and t0 is not None:
                    self.on_event("progress", done_s=samples[-1].t_s - t0,
                                  samples=self.samples, lost=self.lost)
            if self.should_stop() and self.trial_status == "completed":
                self.trial_status, self.reason = "aborted", self.stop_reason
            self.on_event("progress", done_s=self.seconds if self.trial_status == "completed"
                          else 0, samples=self.samples, lost=self.lost, final=True)
        except KeyboardInterrupt:
            self.trial_status, self.reason = "aborted", "stopped by the user (Ctrl-C)"
        except StorageError as e:
            self.db_error = e

    def shutdown(self) -> None:
        try:
            if self.trial is not None:
                self._finish_trial()
        finally:
            self.source.close()

    def _finish_trial(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except StorageError as e:
                self.db_error = self.db_error or e
            self.kept = self.writer.committed
        if self.trial_status == "completed" and self.gaps:
            missing = sum(b - a for a, b in self.gaps if a is not None and b is not None)
            self.trial_status, self.reason = "interrupted", (
                f"the board disconnected {len(self.gaps)} time(s); recording resumed each "
                f"time, {missing:.2f} s of device time have no samples")
        if self.db_error is not None:
            self.trial_status = "interrupted"
            self.reason = f"could not write to the database: {self.db_error}"
            self.samples = self.kept
        try:
            # On a server that went away, the end waits in the spool with the samples.
            self.store.end_trial(self.trial.id, self.trial_status, self.reason,
                                 {"samples": self.samples, "lost_frames": self.lost,
                                  "gaps_t_s": self.gaps})
        except StorageError as e:
            # The trial stays 'recording'; the next start marks it interrupted.
            self.db_error = self.db_error or e
