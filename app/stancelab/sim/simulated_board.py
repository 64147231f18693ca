"""The simulated board: a virtual athlete on a virtual board, read through the real decoder.

Bytes from :class:`~stancelab.sim.virtual_board.VirtualBoard` go through a
:class:`~stancelab.board.protocol.Decoder` and a :class:`~stancelab.board.source.SampleAssembler`
exactly as a serial board's bytes do, so the app, the recorder and the tests exercise the same
path as with hardware.

Two ways to run:

- realtime (the app): a reader thread lets ``speed`` x wall-clock time pass on the board about
  every 20 ms and pushes the samples; ``t_host_s`` is ``time.monotonic()`` when they arrived.
- fast (tests, batch jobs; ``realtime=False``): no thread; :meth:`read` generates the next
  ``chunk_s`` of board time on demand, so a minute of data takes a fraction of a second. The
  host clock is then synthetic: ``t_host_s = monotonic() at open() + board time at the end of the
  chunk``, i.e. each chunk arrives at once when its last frame is sent, like a USB transfer.

Drills steer the athlete through :meth:`lean_to` / :meth:`set_stance`, which hold the lock the
reader thread holds, and act at the board's current time.
"""

from __future__ import annotations

import threading
import time

from stancelab.board import protocol
from stancelab.board.source import Sample, SampleAssembler, Source, SourceError
from stancelab.sim.athlete import VirtualAthlete
from stancelab.sim.virtual_board import VirtualBoard

TICK_S = 0.02


class SimulatedBoard(Source):
    kind = "simulated"

    def __init__(self, athlete: VirtualAthlete | None = None, *, realtime: bool = True,
                 speed: float = 1.0, seed: int = 0, rate_sps: int = 80,
                 board: VirtualBoard | None = None, chunk_s: float = 0.25) -> None:
        super().__init__("simulated board")
        if rate_sps not in protocol.SUPPORTED_RATES:
            raise SourceError(f"the board runs at 10 or 80 samples/s, not {rate_sps}")
        if speed <= 0:
            raise SourceError(f"speed must be positive, not {speed}")
        self.athlete = athlete if athlete is not None else VirtualAthlete(seed=seed)
        self.board = board if board is not None else VirtualBoard(self.athlete, seed=seed)
        self.realtime = realtime
        self.speed = float(speed)
        self.rate_sps = rate_sps
        self.chunk_s = float(chunk_s)
        self.lock = threading.RLock()   # guards the board, the athlete and the decoder
        self._decoder = protocol.Decoder()
        self._assembler = SampleAssembler()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._host_t0 = 0.0
        self._set_state(nominal_rate_sps=rate_sps)

    # -- time
    @property
    def board_time_s(self) -> float:
        """The athlete's clock (true time since the virtual board was built)."""
        return self.board.t_s

    def _host_time(self) -> float:
        return time.monotonic() if self.realtime else self._host_t0 + self.board.t_s

    # -- bytes -> samples
    def _feed(self, data: bytes) -> list:
        """Decode board bytes; samples go to the queue, other messages are returned."""
        if not data:
            return []
        t_host = self._host_time()
        samples: list[Sample] = []
        others = []
        for msg in self._decoder.feed(data):
            if isinstance(msg, protocol.SampleFrame):
                samples.append(self._assembler(msg, t_host))
            else:
                others.append(msg)
        if samples:
            self._push(samples)
        stats = self._decoder.stats
        self._set_state(lost_frames=stats.lost_frames, restarts=stats.restarts,
                        rate_sps=self._assembler.rate_sps)
        return others

    def _command(self, cmd: bytes, expect):
        with self.lock:
            replies = self._feed(self.board.receive(cmd))
        for msg in replies:
            if isinstance(msg, expect):
                return msg
        raise SourceError("the simulated board did not answer; restart StanceLab")

    def _ack(self, cmd: bytes) -> None:
        ack = self._command(cmd, protocol.Ack)
        if ack.result != protocol.ACK_OK:
            raise SourceError(f"the simulated board refused command 0x{ack.command:02x} "
                              f"(result {ack.result})")

    # -- lifecycle
    def open(self) -> None:
        if self._state.connected:
            return
        self._host_t0 = time.monotonic() - self.board.t_s
        with self.lock:
            self._feed(self.board.boot())
            self._feed(self.board.advance(0.1))   # the sketch starts; the chips settle
        ident = self._command(protocol.cmd_identify(), protocol.Identity)
        if ident.protocol_version != protocol.PROTOCOL_VERSION:
            raise SourceError(f"simulated board speaks protocol {ident.protocol_version}")
        self._set_state(connected=True, board_id=ident.board_id,
                        firmware=ident.firmware_version, protocol_version=ident.protocol_version,
                        error=None)

    def start(self) -> None:
        if not self._state.connected:
            raise SourceError("open the simulated board before starting it")
        if self._state.streaming:
            return
        self._ack(protocol.cmd_set_rate(self.rate_sps))
        with self.lock:
            self._decoder.reset_sequence()
            self._assembler.reset()
        self._ack(protocol.cmd_start())
        self._set_state(streaming=True)
        if self.realtime:
            self._halt.clear()
            self._thread = threading.Thread(target=self._run, name="simulated-board",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._halt.wait(TICK_S):
            now = time.monotonic()
            with self.lock:
                self._feed(self.board.advance((now - last) * self.speed))
            last = now

    def _join(self) -> None:
        if self._thread is not None:
            self._halt.set()
            self._thread.join()
            self._thread = None

    def stop(self) -> None:
        if not self._state.streaming:
            return
        self._join()
        self._ack(protocol.cmd_stop())   # frames sent before the ACK are queued by _feed
        self._set_state(streaming=False)

    def close(self) -> None:
        if self._state.streaming:
            self.stop()
        self._join()
        self._set_state(connected=False, streaming=False)

    # -- data
    def generate(self, seconds: float) -> None:
        """Fast mode: let ``seconds`` of board time pass now and queue the samples."""
        with self.lock:
            self._feed(self.board.advance(seconds))

    def read(self, timeout: float = 0.0, max_samples: int | None = None) -> list[Sample]:
        if not self.realtime and self._state.streaming:
            with self._cond:
                empty = not self._queue
            if empty:
                self.generate(self.chunk_s)
            return super().read(0.0, max_samples)
        return super().read(timeout, max_samples)

    def run_for(self, seconds: float) -> list[Sample]:
        """Start if needed, collect ``seconds`` of board time worth of samples (fast or real)."""
        if not self._state.streaming:
            self.start()
        out = super().read()
        if not self.realtime:
            end = self.board.t_s + seconds
            while self.board.t_s < end - 1e-9:
                self.generate(min(self.chunk_s, end - self.board.t_s))
                out += super().read()
            return out
        deadline = time.monotonic() + seconds / self.speed
        while (left := deadline - time.monotonic()) > 0:
            out += super().read(timeout=min(left, 0.1))
        return out + super().read()

    # -- steering the athlete
    def lean_to(self, target_mm, delay_s: float = 0.0):
        """The athlete sees a target now (plus ``delay_s``) and moves toward it."""
        with self.lock:
            return self.athlete.lean_to(target_mm, self.board.t_s + delay_s)

    def set_stance(self, stance: str, delay_s: float = 0.0) -> float:
        with self.lock:
            return self.athlete.set_stance(stance, self.board.t_s + delay_s)

    def set_eyes(self, eyes: str, delay_s: float = 0.0) -> float:
        with self.lock:
            return self.athlete.set_eyes(eyes, self.board.t_s + delay_s)
