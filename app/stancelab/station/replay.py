"""Replay a raw CSV export as if the board were streaming it again.

Samples keep their recorded sequence numbers, device times, counts and status; the host
receive time is the replay's own clock (it measures this run, not the original one). In real
time one reader thread releases each sample when the wall clock reaches its device time
divided by ``speed``; ``speed=None`` replays as fast as the consumer drains the queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

from stancelab.board.source import Sample, Source, SourceError, now_s
from stancelab.files.csv_format import CsvFormatError, RawCsv
from stancelab.files.csv_parse import read_raw_csv

_MAX_GAP_S = 1.0  # pauses between trials are shortened to this in real-time replay


class ReplayBoard(Source):
    kind = "replay"

    def __init__(self, path: str | Path, speed: float | None = 1.0,
                 trial: int | None = None, max_queue: int = 80 * 600) -> None:
        if speed is not None and not speed > 0:
            raise ValueError("speed must be > 0, or None for as fast as possible")
        self.path = Path(path)
        super().__init__(self.path.name, max_queue=max_queue)
        self.speed = speed
        self.trial = trial
        self.data: RawCsv | None = None
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._position = 0
        self._times: deque[float] = deque(maxlen=80)

    @property
    def metadata(self) -> dict:
        return self.data.metadata if self.data is not None else {}

    def open(self) -> None:
        try:
            data = read_raw_csv(self.path, derived=False)
        except CsvFormatError as e:
            raise SourceError(f"Cannot replay {self.path}: {e}") from None
        if self.trial is not None:
            if self.trial not in data.trial_numbers():
                raise SourceError(f"{self.path} has no trial {self.trial}; it has trials "
                                  f"{data.trial_numbers()}.")
            samples = data.trial_samples(self.trial)
            data = RawCsv(data.metadata, data.trial[data.trial == self.trial], samples)
        self.data = data
        board_id = data.metadata.get("board_id")
        firmware = data.metadata.get("firmware")
        self._set_state(connected=True, error=None,
                        board_id=board_id if isinstance(board_id, int) else None,
                        firmware=str(firmware) if firmware is not None else None,
                        nominal_rate_sps=80)

    def start(self) -> None:
        if self.data is None:
            raise SourceError("Open the replay before starting it.")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.finished.clear()
        self._thread = threading.Thread(target=self._run, name="replay-reader", daemon=True)
        self._set_state(streaming=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self._thread = None
        self._set_state(streaming=False)

    def close(self) -> None:
        self.stop()
        self._set_state(connected=False)

    # -- reader thread
    def _run(self) -> None:
        s = self.data.samples
        seq, t_s, counts, status = (s.seq.tolist(), s.t_s.tolist(), s.counts.tolist(),
                                    s.status.tolist())
        n = len(seq)
        wall0 = time.monotonic()
        play_t = 0.0  # device time elapsed in the replay, gaps shortened
        prev_t = t_s[self._position - 1] if self._position else None
        chunk = 8
        while self._position < n and not self._stop.is_set():
            i = self._position
            batch = []
            while i < n and len(batch) < chunk:
                if prev_t is not None:
                    step = t_s[i] - prev_t
                    play_t += min(max(step, 0.0), _MAX_GAP_S)
                prev_t = t_s[i]
                batch.append(i)
                i += 1
                if self.speed is not None:
                    break  # one sample at a time, each at its own moment
            if self.speed is not None:
                due = wall0 + play_t / self.speed
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
            else:
                self._wait_for_room(len(batch))
                if self._stop.is_set():
                    break
            host = now_s()
            out = [Sample(seq[k], t_s[k], host, tuple(counts[k]), status[k]) for k in batch]
            self._push(out)
            self._position = i
            self._times.extend(t_s[k] for k in batch)
            if len(self._times) > 1 and self._times[-1] > self._times[0]:
                rate = (len(self._times) - 1) / (self._times[-1] - self._times[0])
                if abs(rate - self._state.rate_sps) > 0.05:
                    self._set_state(rate_sps=rate)
        if self._position >= n:
            self._set_state(streaming=False)
            self.finished.set()

    def _wait_for_room(self, needed: int) -> None:
        with self._cond:
            while not (self._stop.is_set() or self._queue.maxlen - len(self._queue) >= needed):
                self._cond.wait(0.5)

    def read(self, timeout: float = 0.0, max_samples: int | None = None) -> list[Sample]:
        out = super().read(timeout, max_samples)
        if out and self.speed is None:
            with self._cond:
                self._cond.notify_all()  # room for the as-fast-as-possible reader
        return out
