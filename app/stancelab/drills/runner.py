"""Runs a drill against a source: drain, process, feed, record, and always clean up.

The GUI calls :meth:`DrillRunner.poll` from its one QTimer, the CLI from a loop; nothing here
sleeps or reads the wall clock for the drill's logic. Every sample is written with its phase and
target as it arrives; each trial is stored with its settings, status, reason and scores.
"""

from __future__ import annotations

import contextlib

from stancelab.analysis.assessment import SENSOR_FAULT_REASON
from stancelab.drills.base import Drill
from stancelab.drills.events import DrillWarning, Event, TrialDone, TrialStarted
from stancelab.health import HealthMonitor
from stancelab.processing import Block, process

DISCONNECTED_REASON = "the board was disconnected; the samples recorded so far are kept"


class DrillRunner:
    def __init__(self, source, calibration, drill: Drill, store=None,
                 athlete_id: int | None = None, session_id: int | None = None):
        self.source = source
        self.calibration = calibration
        self.drill = drill
        self.store = store
        self.athlete_id = athlete_id
        self.session_id = session_id
        self.last_block: Block = Block.empty()   # for live views fed by the same poll
        self.trial_ids: dict[int, int] = {}      # drill trial index -> storage trial id
        self.samples_written = 0
        self._writers: dict[int, object] = {}
        # Sensor health watches the same blocks: a fault is announced as a warning at once, and
        # a trial recorded through one is stored with sensor_ok False and not scored.
        self.health = HealthMonitor(calibration,
                                    body_mass_kg=getattr(drill.stance, "body_mass_kg", None))
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def finished(self) -> bool:
        return self._closed

    @property
    def results(self):
        return self.drill.results

    def start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        try:
            if self.store is not None and self.session_id is None:
                st = self.source.state
                self.session_id = self.store.start_session(
                    athlete_id=self.athlete_id, source_kind=st.kind, board_id=st.board_id,
                    firmware=st.firmware, calibration=self.calibration).id
            events = self.drill.setup()
            if not self.source.state.streaming:
                self.source.start()
            return events
        except BaseException:
            self.close()
            raise

    def poll(self) -> list[Event]:
        """Drain what the source has, advance the drill, record; returns the new events."""
        if self._closed:
            return []
        events = self.start() if not self._started else []
        try:
            # Look at the connection before draining: samples that arrived before a disconnect
            # are then always in this read, never left behind in the queue by the abort below.
            connected = self.source.state.connected
            samples = self.source.read()
            if samples:
                block = process(samples, self.calibration)
                self.last_block = block
                events += [DrillWarning(t_s=f.detected_t_s, text=f.advice, code="sensor-" + f.kind)
                           for f in self.health.feed(block)]
                new = self.drill.feed(block)
                self._record(samples, new, self.drill.labels)
                events += new
            else:
                self.last_block = Block.empty()
                for w in self._writers.values():
                    w.tick()
            if not self.drill.finished and not connected:
                new = self.drill.abort(DISCONNECTED_REASON, code="disconnected",
                                       status="interrupted")
                self._record([], new, [])
                events += new
        except BaseException as e:
            events += self._fail(e)
            raise
        if self.drill.finished:
            self.close()
        return events

    def stop(self, reason: str = "stopped by the coach") -> list[Event]:
        """Abort from outside; the open trial keeps its samples and says why."""
        if self._closed:
            return []
        try:
            events = self.drill.abort(reason, code="stopped", status="aborted")
            self._record([], events, [])
            return events
        finally:
            self.close()

    def close(self) -> None:
        """Commit and release everything; safe to call twice, always reached."""
        if self._closed:
            return
        self._closed = True
        try:
            for w in self._writers.values():
                w.close()
        finally:
            self._writers.clear()
            self.drill.cleanup()

    def _fail(self, exc: BaseException) -> list[Event]:
        try:
            text = f"stopped by an error: {exc}" if str(exc) else \
                f"stopped by an error ({type(exc).__name__})"
            events = self.drill.abort(text, code="error", status="aborted")
            self._record([], events, [])
            return events
        except Exception:  # noqa: BLE001 - never hide the error being reported
            return []
        finally:
            self.close()

    # ------------------------------------------------------------------ storage
    def commit_pending(self) -> None:
        """Commit what the sample writers were handed, and wait for it.

        SQLite has one writer at a time and a sample writer's thread holds its transaction open
        for up to ``commit_interval_s``; a trial boundary written through the Storage right
        after would wait for it, so boundaries call this first. (Poll never waits otherwise:
        writers insert and commit on their own threads.)"""
        for w in self._writers.values():
            w.commit()

    def _record(self, samples, events, labels) -> None:
        """Store samples and trial boundaries in the order they happened: a trial's samples,
        then its TrialDone (writer closed, trial finished), then the next TrialStarted."""
        if self.store is None:
            return
        i = 0
        start = 0
        while start < len(samples):
            k = labels[start][0]
            end = start
            while end < len(samples) and labels[end][0] == k:
                end += 1
            if k is not None and k not in self._writers:
                while i < len(events):     # the events up to this trial's start
                    e = events[i]
                    i += 1
                    self._on_event(e)
                    if isinstance(e, TrialStarted) and e.index == k:
                        break
            if k is not None and k in self._writers:
                self._writers[k].extend(samples[start:end],
                                        phase=[lab[1] for lab in labels[start:end]],
                                        target=[lab[2] for lab in labels[start:end]])
                self.samples_written += end - start
            start = end
        for e in events[i:]:
            self._on_event(e)

    def _on_event(self, e) -> None:
        if isinstance(e, TrialStarted):
            self.commit_pending()
            trial = self.store.start_trial(self.session_id, e.drill, leg=e.leg,
                                           condition=e.condition, settings=e.settings)
            self.trial_ids[e.index] = trial.id
            self._writers[e.index] = self.store.sample_writer(trial.id)
        elif isinstance(e, TrialDone):
            r = e.result
            writer = self._writers.pop(r.index, None)
            tid = self.trial_ids.get(r.index)
            if writer is not None:
                try:
                    writer.close()
                except Exception as exc:
                    # The writer thread could not save the trial's last samples (disk full):
                    # store why, then let the error stop the run.
                    self._finish_unsaved(tid, exc)
                    raise
            if tid is not None:
                flags = self.health.quality_flags(r.t_start_s, r.t_end_s)
                metrics, reason = dict(r.metrics), r.reason
                if not flags["sensor_ok"]:
                    # Scores computed through a faulty cell would be wrong numbers: keep the
                    # samples, drop the scores, say why.
                    metrics = {k: v for k, v in metrics.items()
                               if k in ("samples", "duration_s", "touchdowns")}
                    why = f"{SENSOR_FAULT_REASON}: " + "; ".join(flags["sensor_advice"])
                    reason = f"{reason}; {why}" if reason else why
                    # The drill's own result says so too (what the terminal and the drill
                    # screen print next): every face shows "sensor fault" (shown_status).
                    r.metrics, r.reason = {**metrics, **flags}, reason
                metrics.update(flags)
                self.commit_pending()
                # On a server that went away, the end waits in the spool with the samples.
                self.store.end_trial(tid, r.status, reason, metrics)

    def _finish_unsaved(self, tid: int | None, exc: Exception) -> None:
        if tid is None:
            return
        # The database may be failing still: then the trial stays 'recording' and the next
        # start marks it interrupted (recover_interrupted).
        with contextlib.suppress(Exception):
            self.store.finish_trial(tid, "interrupted", f"could not write to the database: {exc}")
