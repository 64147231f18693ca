"""A StanceLab board on a USB serial port: handshake, one reader thread, automatic reconnect.

Threading model (see docs/serial.md): one reader thread owns reading. It feeds bytes to a pure
:class:`~stancelab.board.protocol.Decoder`, pushes samples to the Source queue and hands
replies (IDENTITY, ACK, PONG) to whichever call is waiting for them. Commands from the caller's
thread write under a lock and wait for their reply. Before the reader runs (in :meth:`open`) and
inside it (while reconnecting) commands pump the port themselves, so exactly one thread reads
at any time. Nothing raised inside the reader reaches the app: it becomes ``state.error``.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import select
import threading
from collections import deque
from dataclasses import dataclass

import serial

from stancelab.board import protocol
from stancelab.board.serial_errors import FIRMWARE_FIX, busy_reply, open_error, protocol_error
from stancelab.board.source import Sample, SampleAssembler, Source, SourceError, now_s

IDENTIFY_ATTEMPTS = 3
IDENTIFY_TIMEOUT_S = 0.2
#: A board answers within 50 ms; the rest is USB latency and a loaded host.
COMMAND_TIMEOUT_S = 0.5
RECONNECT_INTERVAL_S = 0.2
#: Longest single blocking read: bounds how late the reader notices close().
READ_TIMEOUT_S = 0.02
#: An Arduino resets when its port opens and its bootloader keeps silent for up to ~1-2 s.
BOOT_GRACE_S = 2.0
_DIAG_BYTES = 512
#: Across a reconnect, a board clock that kept running agrees with the host's clock this well.
CLOCK_MATCH_S = 1.0
_FORCE, _CHECK = "force", "check"
#: The measured rate in ``state`` is refreshed this often (lost frames and restarts at once):
#: replacing the state on every frame costs the reader more than the decoding.
RATE_REFRESH_S = 0.1
#: Largest single read: far more than arrives between two wake-ups at 80 frames/s.
_CHUNK = 4096
_RETRY_ERRNOS = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


@dataclass
class Interruption:
    """A stretch without a connection; the app marks trials that span one as interrupted."""

    lost_host_s: float               # host monotonic time the port failed
    last_t_s: float | None           # device time of the last sample kept before the loss
    back_host_s: float | None = None  # host time the same board was streaming again
    first_t_s: float | None = None   # device time of the first sample after the return
    reason: str = ""


def _close_quietly(ser) -> None:
    # pyserial's socket:// close() skips closing a socket whose shutdown fails (the server
    # reset it first) and drops it: close it here too, or it stays open until collected.
    sock = getattr(ser, "_socket", None)
    with contextlib.suppress(Exception):   # closing a vanished device may fail; nothing to do
        ser.close()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _is_ack(command: int):
    return lambda m: isinstance(m, protocol.Ack) and m.command == command


def _is_identity(m) -> bool:
    return isinstance(m, protocol.Identity)


class SerialBoard(Source):
    """A protocol-v1 board on a serial port (real USB-serial, or a pty in tests)."""

    kind = "serial"

    def __init__(self, port: str, *, rate_sps: int = 80, baudrate: int = 115200,
                 auto_reconnect: bool = True, boot_grace_s: float = BOOT_GRACE_S,
                 reconnect_interval_s: float = RECONNECT_INTERVAL_S) -> None:
        if rate_sps not in protocol.SUPPORTED_RATES:
            raise SourceError(f"Rate {rate_sps} samples/s is not supported; use 10 or 80.")
        super().__init__(description=str(port))
        self.port = str(port)
        self.rate_sps = rate_sps
        self.baudrate = baudrate
        self.auto_reconnect = auto_reconnect
        self.boot_grace_s = boot_grace_s
        self.reconnect_interval_s = reconnect_interval_s
        self._set_state(nominal_rate_sps=rate_sps)

        self._ser: serial.Serial | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._cmd_lock = threading.RLock()      # one command in flight
        self._write_lock = threading.Lock()
        self._dec_lock = threading.Lock()       # decoder, assembler and time base
        self._reply_cond = threading.Condition()
        self._replies: deque = deque(maxlen=32)
        self._tokens = itertools.count(1)

        self._decoder = protocol.Decoder()
        self._asm = SampleAssembler()
        self._accepting = False                  # samples go to the queue only after START
        self._want_streaming = False             # what the user asked; survives a reconnect
        self._resume_pending = False             # board reset mid-stream: restart it
        self._counting = False                   # count restarts/losses after the handshake
        self._rx_bytes = 0                       # on the current connection
        self._rate_shown_s = -1.0                # host time state.rate_sps was last refreshed
        self._diag = bytearray()                 # first bytes of a connection, for messages
        self._identity: protocol.Identity | None = None
        # Device time base: continuous across board resets and reconnects.
        self._t_offset_s = 0.0
        self._last_raw_t: float | None = None
        self._last_t: float | None = None
        self._last_host: float | None = None
        self._rebase_next: str | None = None

        self.lost_frames = 0
        self.restarts = 0
        self.reconnects = 0
        self.stray_samples = 0                   # samples that came before START
        self.crc_errors = 0
        self.interruptions: list[Interruption] = []

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        if self._thread is not None:
            return
        self._closing.clear()
        ser = self._open_port()
        try:
            identity = self._handshake(ser)
        except BaseException:
            _close_quietly(ser)
            raise
        self._identity = identity
        self._ser = ser
        self._set_state(connected=True, streaming=False, error=None, board_id=identity.board_id,
                        firmware=identity.firmware_version,
                        protocol_version=identity.protocol_version,
                        nominal_rate_sps=self.rate_sps)
        self._thread = threading.Thread(target=self._run, name=f"stancelab-serial {self.port}",
                                        daemon=True)
        self._thread.start()

    def start(self) -> None:
        with self._cmd_lock:
            ser = self._require_connected()
            self._want_streaming = True
            self._start_on(ser)
            self._set_state(streaming=True)

    def stop(self) -> None:
        with self._cmd_lock:
            self._want_streaming = False
            ser = self._ser
            if ser is None or not self.state.connected:
                self._accepting = False
                self._set_state(streaming=False)
                return
            ack = self._transact(ser, protocol.cmd_stop(), _is_ack(protocol.C_STOP),
                                 COMMAND_TIMEOUT_S)
            with self._dec_lock:
                self._accepting = False
            self._set_state(streaming=False)
            if ack is None:
                raise SourceError(f"The board on {self.port} did not acknowledge STOP. "
                                  "Unplug and replug it if samples keep coming.")

    def close(self) -> None:
        if self._ser is not None and self.state.connected and self._want_streaming:
            try:
                self.stop()   # leave the board idle for the next program
            except SourceError:
                pass
        self._closing.set()
        with self._reply_cond:
            self._reply_cond.notify_all()
        ser = self._ser
        if ser is not None:
            with contextlib.suppress(Exception):   # the port may already be gone
                ser.cancel_read()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        ser, self._ser = self._ser, None
        if ser is not None:
            _close_quietly(ser)
        self._want_streaming = False
        self._set_state(connected=False, streaming=False)

    def ping(self, timeout_s: float = COMMAND_TIMEOUT_S) -> float:
        """Round trip time in seconds of a PING/PONG exchange."""
        with self._cmd_lock:
            ser = self._require_connected()
            token = next(self._tokens) & 0xFFFFFFFF
            t0 = now_s()
            pong = self._transact(ser, protocol.cmd_ping(token),
                                  lambda m: isinstance(m, protocol.Pong) and m.token == token,
                                  timeout_s)
            if pong is None:
                raise SourceError(f"The board on {self.port} did not answer PING within "
                                  f"{timeout_s * 1000:.0f} ms. Check the cable.")
            return now_s() - t0

    @property
    def identity(self) -> protocol.Identity | None:
        return self._identity

    # ------------------------------------------------------------------ port and handshake
    def _open_raw(self) -> serial.Serial:
        # A path, or a pyserial URL: socket://HOST:PORT reaches `stancelab serve` on a Pi.
        return serial.serial_for_url(self.port, self.baudrate, timeout=READ_TIMEOUT_S,
                                     write_timeout=1.0, exclusive=True)

    def _open_port(self) -> serial.Serial:
        try:
            return self._open_raw()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_error(self.port, exc) from None

    def _new_connection(self) -> None:
        with self._dec_lock:
            self._decoder = protocol.Decoder()
            self._accepting = False
            self._counting = False
            self._rx_bytes = 0
            self._diag.clear()
            if self._rebase_next is None:
                self._rebase_next = _CHECK   # the clock may or may not have run on meanwhile
        with self._reply_cond:
            self._replies.clear()

    def _handshake(self, ser: serial.Serial) -> protocol.Identity:
        """IDENTIFY (tolerating BOOT and stray samples), check the version, idle, SET_RATE."""
        self._new_connection()
        identity = self._identify(ser, IDENTIFY_ATTEMPTS, IDENTIFY_TIMEOUT_S, self.boot_grace_s)
        if identity.protocol_version != protocol.PROTOCOL_VERSION:
            raise protocol_error(self.port, identity)
        if identity.streaming and self._transact(
                ser, protocol.cmd_stop(), _is_ack(protocol.C_STOP), COMMAND_TIMEOUT_S) is None:
            raise self._silence_error()
        ack = self._transact(ser, protocol.cmd_set_rate(self.rate_sps),
                             _is_ack(protocol.C_SET_RATE), COMMAND_TIMEOUT_S)
        if ack is None:
            raise self._silence_error()
        if ack.result != protocol.ACK_OK:
            raise SourceError(f"The board on {self.port} refused {self.rate_sps} samples/s "
                              f"(firmware {identity.firmware_version}): {FIRMWARE_FIX}.")
        with self._dec_lock:
            self._counting = True
            self._resume_pending = False
        return identity

    def _identify(self, ser, attempts: int, per_try_s: float,
                  boot_grace_s: float) -> protocol.Identity:
        t0 = now_s()
        sent = 0
        boots_seen = 0
        while not self._closing.is_set():
            msg = self._transact(ser, protocol.cmd_identify(), _is_identity, per_try_s)
            sent += 1
            if msg is not None:
                return msg
            boots = self._decoder.stats.restarts
            if boots > boots_seen:
                # The board just started: our IDENTIFY may have hit it while it was resetting.
                boots_seen = boots
                sent = min(sent, attempts - 1)
            silent = self._rx_bytes == 0
            if sent >= attempts and not (silent and now_s() - t0 < boot_grace_s):
                break
        if self._closing.is_set():
            raise SourceError(f"{self.port}: closed while connecting.")
        raise self._silence_error()

    def _silence_error(self) -> SourceError:
        diag = bytes(self._diag)
        if b"fl:" in diag and b"br:" in diag:
            return SourceError(
                f"The board on {self.port} is in Arduino Serial Plotter mode (text lines instead "
                "of frames). Press its reset button or replug it, or rebuild the firmware "
                "without STANCELAB_PLOTTER.")
        if diag and self._decoder.stats.frames == 0:
            return SourceError(
                f"The device on {self.port} sends data that are not StanceLab frames: it is not a "
                f"StanceLab board, runs other firmware ({FIRMWARE_FIX}), or uses a baud rate "
                f"other than {self.baudrate}. Run `stancelab ports` to find the board.")
        return SourceError(
            f"No answer to IDENTIFY from {self.port}: it is not a StanceLab board, its firmware "
            f"is not StanceLab firmware ({FIRMWARE_FIX}), or the baud rate is wrong (StanceLab "
            f"uses {self.baudrate}). Run `stancelab ports` to find the board.")

    # ------------------------------------------------------------------ commands
    def _require_connected(self) -> serial.Serial:
        ser = self._ser
        if ser is None or not self.state.connected:
            msg = self.state.error or f"The board on {self.port} is not connected."
            raise SourceError(msg if self._thread is not None or ser is not None
                              else f"{self.port} is not open: call open() first.")
        return ser

    def _start_on(self, ser) -> None:
        with self._dec_lock:
            self._decoder.reset_sequence()
            self._accepting = True
        ack = self._transact(ser, protocol.cmd_start(), _is_ack(protocol.C_START),
                             COMMAND_TIMEOUT_S)
        if ack is None or ack.result != protocol.ACK_OK:
            with self._dec_lock:
                self._accepting = False
            why = "did not acknowledge START" if ack is None else f"refused START ({ack.result})"
            raise SourceError(f"The board on {self.port} {why}. Unplug and replug it.")

    def _transact(self, ser, frame: bytes, match, timeout_s: float):
        """Send a command; return the first reply that ``match`` accepts, or None."""
        with self._reply_cond:
            self._replies.clear()
        try:
            with self._write_lock:
                ser.write(frame)
        except (serial.SerialException, OSError) as exc:
            raise SourceError(f"Lost the board on {self.port} while sending a command "
                              f"({exc}). Check the USB cable.") from None
        return self._await(ser, match, timeout_s)

    def _take(self, match):
        for m in self._replies:
            if match(m):
                self._replies.remove(m)
                return m
        return None

    def _await(self, ser, match, timeout_s: float):
        deadline = now_s() + timeout_s
        reader = self._thread
        if reader is None or reader is threading.current_thread():
            while True:
                with self._reply_cond:
                    m = self._take(match)
                if m is not None or self._closing.is_set():
                    return m
                if now_s() >= deadline:
                    return None
                self._pump(ser)
        with self._reply_cond:
            found = []

            def ready():
                m = self._take(match)
                if m is not None:
                    found.append(m)
                return bool(found) or self._closing.is_set() or not self._state.connected

            self._reply_cond.wait_for(ready, timeout_s)
            return found[0] if found else None

    # ------------------------------------------------------------------ reading
    def _pump(self, ser) -> None:
        try:
            data = _read_burst(ser)
        except (serial.SerialException, OSError, TypeError) as exc:
            raise SourceError(busy_reply(self.port, bytes(self._diag))
                              or f"Lost the board on {self.port} ({exc}).") from None
        if data:
            self._feed(data, now_s())

    def _feed(self, data: bytes, t_host: float) -> None:
        with self._dec_lock:
            self._rx_bytes += len(data)
            if len(self._diag) < _DIAG_BYTES:
                self._diag += data[: _DIAG_BYTES - len(self._diag)]
            st = self._decoder.stats
            lost0, restarts0, crc0 = st.lost_frames, st.restarts, st.crc_errors
            samples: list[Sample] = []
            replies = []
            for m in self._decoder.feed(data):
                if isinstance(m, protocol.SampleFrame):
                    if self._accepting:
                        samples.append(self._make_sample(m, t_host))
                    else:
                        self.stray_samples += 1
                elif isinstance(m, protocol.Boot):
                    self._rebase_next = _FORCE
                    if self._counting and self._want_streaming:
                        self._resume_pending = True   # a reset board is idle: restart it
                elif isinstance(m, (protocol.Identity, protocol.Ack, protocol.Pong)):
                    replies.append(m)
            self.crc_errors += st.crc_errors - crc0
            changed = bool(samples) and t_host - self._rate_shown_s >= RATE_REFRESH_S
            if self._counting and (st.lost_frames != lost0 or st.restarts != restarts0):
                self.lost_frames += st.lost_frames - lost0
                self.restarts += st.restarts - restarts0
                changed = True
            rate = self._asm.rate_sps if changed else 0.0
            if changed:
                self._rate_shown_s = t_host
        if replies:
            with self._reply_cond:
                self._replies.extend(replies)
                self._reply_cond.notify_all()
        if samples:
            self._push(samples)
        if changed:
            self._set_state(lost_frames=self.lost_frames, restarts=self.restarts, rate_sps=rate)

    def _make_sample(self, frame: protocol.SampleFrame, t_host: float) -> Sample:
        raw = self._asm.time_s(frame)
        if self._last_raw_t is not None:
            host_gap = t_host - self._last_host
            rebase = self._rebase_next == _FORCE or raw <= self._last_raw_t or (
                self._rebase_next == _CHECK
                and abs(raw - self._last_raw_t - host_gap) > CLOCK_MATCH_S)
            if rebase:
                # The board's clock restarted (reset, power loss): continue our time axis from
                # the last sample plus the host-measured gap so t_s stays strictly increasing.
                self._asm = SampleAssembler()
                raw = self._asm.time_s(frame)
                self._t_offset_s = self._last_t + max(host_gap, 1.0 / self.rate_sps) - raw
        self._rebase_next = None
        self._last_raw_t = raw
        t = raw + self._t_offset_s
        self._last_t, self._last_host = t, t_host
        if self.interruptions and self.interruptions[-1].first_t_s is None \
                and self.interruptions[-1].back_host_s is not None:
            self.interruptions[-1].first_t_s = t
        return Sample(frame.seq, t, t_host, frame.counts, frame.status)

    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                ser = self._ser
                try:
                    self._pump(ser)
                    if self._resume_pending:
                        self._resume_after_reset(ser)
                except SourceError as exc:
                    if self._closing.is_set():
                        break
                    self._lost(str(exc))
                    if not (self.auto_reconnect and self._reconnect()):
                        break
        except Exception as exc:  # noqa: BLE001 - a bug here must not take the app down
            self._set_state(connected=False, streaming=False,
                            error=f"Internal error while reading {self.port}: {exc!r}. Close "
                                  "and reopen the board, and please report this.")
            ser, self._ser = self._ser, None
            if ser is not None:
                _close_quietly(ser)

    def _resume_after_reset(self, ser) -> None:
        """The board rebooted while streaming (BOOT seen): it is idle now; restart it."""
        if not self._cmd_lock.acquire(blocking=False):
            return   # a command is in flight and needs this thread to pump its reply
        try:
            self._resume_pending = False
            if not self._want_streaming:
                return
            ack = self._transact(ser, protocol.cmd_set_rate(self.rate_sps),
                                 _is_ack(protocol.C_SET_RATE), COMMAND_TIMEOUT_S)
            if ack is None:
                raise SourceError(f"The board on {self.port} reset and then stopped answering.")
            self._start_on(ser)
        finally:
            self._cmd_lock.release()

    def _lost(self, reason: str) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            _close_quietly(ser)
        with self._dec_lock:
            self._accepting = False
            last_t = self._last_t
        self.interruptions.append(Interruption(now_s(), last_t, reason=reason))
        then = ("Every sample received so far is kept; reconnecting automatically, plug the "
                "board back in." if self.auto_reconnect else
                "Every sample received so far is kept; open the board again to continue.")
        self._set_state(connected=False, streaming=False,
                        error=f"The board on {self.port} was disconnected. {then}")
        with self._reply_cond:
            self._reply_cond.notify_all()

    def _reconnect(self) -> bool:
        """Retry the same port path until the same board answers; restart streaming."""
        want_id = self._identity.board_id if self._identity else None
        while not self._closing.wait(self.reconnect_interval_s):
            try:
                ser = self._open_raw()
            except (serial.SerialException, OSError, ValueError):
                continue   # still unplugged (or busy): try again shortly
            try:
                identity = self._handshake(ser)
                if self._closing.is_set():
                    raise SourceError("closing")
                if want_id is not None and identity.board_id != want_id:
                    self._set_state(error=(
                        f"A different board ({identity.board_id:08x}) is on {self.port}; "
                        f"plug board {want_id:08x} back in to continue."))
                    raise SourceError("different board")
                with self._cmd_lock:
                    self._ser = ser
                    if self._want_streaming:
                        self._start_on(ser)
            except SourceError:
                self._ser = None
                self._set_state(connected=False)
                _close_quietly(ser)
                if self._closing.is_set():
                    return False
                continue
            self._identity = identity
            self.reconnects += 1
            self.restarts += 1
            self.interruptions[-1].back_host_s = now_s()
            self._set_state(connected=True, streaming=self._want_streaming, error=None,
                            restarts=self.restarts, firmware=identity.firmware_version)
            return True
        return False


def _read_burst(ser) -> bytes:
    """The bytes the port holds, waiting up to its timeout for the first one.

    On a POSIX port this is one ``select`` and one ``read`` per burst: a frame that arrives in
    one piece is read and decoded at once (pyserial's ``read(in_waiting or 1)`` reads its first
    byte, then the rest: two reads, two decoder passes). A frame that arrives in pieces is
    read piece by piece as they come, so nothing waits longer than the bytes themselves.
    Other ports (Windows, ``loop://``) go through pyserial."""
    fd = getattr(ser, "fd", None)
    abort = getattr(ser, "pipe_abort_read_r", None)
    if not isinstance(fd, int) or not isinstance(abort, int):
        return ser.read(ser.in_waiting or 1)
    try:
        ready, _, _ = select.select([fd, abort], [], [], ser.timeout)
    except InterruptedError:
        return b""
    if abort in ready:              # cancel_read() from close()
        os.read(abort, 1000)
        return b""
    if not ready:
        return b""
    try:
        data = os.read(fd, _CHUNK)
    except OSError as exc:
        if exc.errno in _RETRY_ERRNOS:
            return b""
        raise serial.SerialException(f"read failed: {exc}") from None
    if not data:
        # A vanished device (Linux) is always readable and reads nothing.
        raise serial.SerialException("device reports readiness to read but returned no data "
                                     "(device disconnected or multiple access on port?)")
    return data
