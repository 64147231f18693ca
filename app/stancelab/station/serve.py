"""A board served over TCP: protocol v1 on a socket, for a Pi beside the board and a laptop.

``stancelab serve --listen HOST:PORT`` runs a :class:`BoardServer` in front of a device that
speaks protocol v1 (docs/protocol.md): the Arduino on the Pi's USB port (:class:`SerialDevice`,
bytes passed through), the HX711s on the Pi's own pins (:class:`SourceDevice` over the GPIO
board), or the simulated board's firmware model (:class:`VirtualDevice`). The
laptop opens ``--port socket://HOST:PORT`` (pyserial's URL handler) and does exactly what it
does over USB: IDENTIFY, board id, SET_RATE, START, sequence numbers and lost-frame counting,
reconnecting when the connection drops.

Rules that keep the board safe from the network:

- One client drives the board at a time. Another one is answered with a single text line starting
  with ``STANCELAB-BUSY:`` (it names who holds the board) and closed; the laptop's serial board shows
  that line as its error (board/serial_errors.py).
- The server decodes what a client sends with its own fresh decoder and passes the board only
  whole, valid commands, re-encoded: garbage, partial frames and frames of the wrong direction
  never reach it, and a client killed in the middle of a frame leaves nothing behind.
- When the client goes (closed, reset, killed), the board is sent STOP: the next client finds it
  idle, as after a USB reconnect.
- A client that stops reading does not stall the board: past ``max_backlog_bytes`` of unsent
  data, new frames for it are dropped (whole frames; the laptop counts them as lost from the
  sequence numbers) until it reads again.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable

from stancelab.board import protocol
from stancelab.board.serial_errors import BUSY_PREFIX

DEFAULT_PORT = 8765
#: How often the device is polled for frames: 5 ms is well under one frame at 80 samples/s.
TICK_S = 0.005
#: Unsent bytes kept for a slow client: about 2 minutes of frames at 80 samples/s.
MAX_BACKLOG_BYTES = 256 * 1024
#: A refused client gets its BUSY line when it first sends (its IDENTIFY) or after this long;
#: at most MAX_REFUSING wait at once, more are closed without a word.
REFUSE_WAIT_S = 2.0
MAX_REFUSING = 8


def parse_listen(spec: str) -> tuple[str, int]:
    """'HOST:PORT' (or ':PORT', all interfaces) -> (host, port); ValueError naming the form."""
    host, sep, port = spec.rpartition(":")
    if not sep:
        raise ValueError(f"--listen {spec!r}: give HOST:PORT, e.g. 0.0.0.0:{DEFAULT_PORT}")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ValueError(f"--listen {spec!r}: the port must be a number from 1 to 65535, e.g. "
                         f"0.0.0.0:{DEFAULT_PORT}")
    return host.strip("[]") or "0.0.0.0", number


class VirtualDevice:
    """The simulated board's firmware model on the wall clock."""

    def __init__(self, board, clock: Callable[[], float] = time.monotonic) -> None:
        self.board = board
        self.description = f"simulated board {board.board_id:08x}"
        self._clock = clock
        self._last = clock()

    def receive(self, data: bytes) -> bytes:
        return self.board.receive(data)

    def poll(self) -> bytes:
        now = self._clock()
        out = self.board.advance(max(0.0, now - self._last))
        self._last = now
        return out

    def close(self) -> None:
        pass


class SerialDevice:
    """A protocol-v1 board on a serial port (the Arduino on the Pi's USB): bytes pass through.

    The port is opened once and kept open, so the board resets once (when the server starts)
    rather than at every client."""

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        import serial

        from stancelab.board.serial_errors import open_error

        try:
            self.ser = serial.serial_for_url(port, baudrate, timeout=0, write_timeout=1.0,
                                             exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_error(port, exc) from None
        self.description = f"board on {port}"

    def receive(self, data: bytes) -> bytes:
        self.ser.write(data)
        return b""                       # the board's answers come with poll()

    def poll(self) -> bytes:
        return self.ser.read(self.ser.in_waiting or 1)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ser.close()


class SourceDevice:
    """A Source that reads the cells itself (the HX711s on the Pi's pins) behind protocol v1,
    answering as the firmware does: IDENTIFY with ``board_id``, START/STOP, SET_RATE (only the
    rate its RATE pin gives), PING; each Sample becomes one SAMPLE frame with its own seq
    (restarted at START), device time and status."""

    def __init__(self, source, board_id: int, firmware=(1, 0, 0)) -> None:
        source.open()
        self.source, self.board_id, self.firmware = source, int(board_id), tuple(firmware)
        self.description = f"{source.state.description} (board {self.board_id:08x})"
        self.streaming = False
        self.seq = 0
        self._rx = protocol.Decoder()
        self._t0 = time.monotonic()

    @property
    def rate_sps(self) -> int:
        return int(self.source.state.nominal_rate_sps)

    def receive(self, data: bytes) -> bytes:
        return b"".join(self._command(m.type, m.payload) for m in self._rx.feed(data)
                        if isinstance(m, protocol.Command))

    def _command(self, kind: int, payload: bytes) -> bytes:
        if kind == protocol.C_IDENTIFY and not payload:
            return protocol.encode_identity(protocol.Identity(
                protocol.PROTOCOL_VERSION, self.firmware, self.board_id, protocol.CHANNELS,
                self.rate_sps, self.streaming))
        if kind == protocol.C_PING and len(payload) == 4:
            now_us = int((time.monotonic() - self._t0) * 1e6)
            return protocol.encode_pong(int.from_bytes(payload, "little"), now_us % protocol.T_MOD)
        if kind == protocol.C_START and not payload:
            self.source.start()
            self.source.read()            # what came before START is not sent
            self.streaming, self.seq = True, 0
        elif kind == protocol.C_STOP and not payload:
            self.streaming = False
            self.source.stop()
        elif kind == protocol.C_SET_RATE and len(payload) == 1:
            if payload[0] != self.rate_sps:
                return protocol.encode_ack(kind, protocol.ACK_BAD_ARGUMENT)
        else:
            return protocol.encode_ack(kind, protocol.ACK_UNKNOWN_COMMAND)
        return protocol.encode_ack(kind, protocol.ACK_OK)

    def poll(self) -> bytes:
        samples = self.source.read()
        if not self.streaming or not samples:
            return b""
        out = []
        for smp in samples:
            out.append(protocol.encode_sample(self.seq, round(smp.t_s * 1e6), smp.counts,
                                              smp.status))
            self.seq = (self.seq + 1) % protocol.SEQ_MOD
        return b"".join(out)

    def close(self) -> None:
        self.source.close()


def machine_board_id(path: str = "/etc/machine-id") -> int:
    """A board id for HX711s read by this computer: stable for its OS install (a CRC-32 of
    systemd's machine id), so its calibration is found again on the laptop."""
    import zlib

    try:
        with open(path, "rb") as f:
            return zlib.crc32(f.read().strip())
    except OSError:
        return zlib.crc32(socket.gethostname().encode())


class _Client:
    def __init__(self, sock: socket.socket, address) -> None:
        self.sock = sock
        self.name = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        self.decoder = protocol.Decoder()
        self.outbox = bytearray()
        self.dropped_bytes = 0


class BoardServer:
    """Serves ``device`` on ``host:port`` from one thread. ``port`` 0 takes a free one (see
    :attr:`address`). ``on_event(kind, **details)`` hears ``client`` (name), ``gone`` (name,
    why), ``refused`` (name, holder) and ``error`` (message)."""

    def __init__(self, device, host: str = "0.0.0.0", port: int = DEFAULT_PORT, *,
                 tick_s: float = TICK_S, max_backlog_bytes: int = MAX_BACKLOG_BYTES,
                 on_event: Callable[..., None] | None = None) -> None:
        self.device = device
        self.tick_s = tick_s
        self.max_backlog_bytes = max_backlog_bytes
        self.on_event = on_event or (lambda kind, **details: None)
        self._listener = socket.create_server((host, port), reuse_port=False)
        self._listener.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._client: _Client | None = None
        self._refusing: dict[socket.socket, tuple[float, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.clients_served = 0
        self.refused = 0
        self.commands_passed = 0
        self.dropped_bytes = 0

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.getsockname()[:2]

    @property
    def client(self) -> str | None:
        c = self._client
        return c.name if c is not None else None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> BoardServer:
        self._thread = threading.Thread(target=self.serve_forever, name="stancelab-serve",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._sel.select(self.tick_s):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj in self._refusing:
                        self._answer_refused(key.fileobj)
                    else:
                        self._read_client()
                if self._refusing:
                    self._answer_refused()
                self._pump_device()
                self._flush()
        finally:
            self._drop_client("the server stopped")
            for s in list(self._refusing):
                self._answer_refused(s)
            self._sel.close()
            self._listener.close()
            self.device.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def kick(self) -> None:
        """Drop the current client (from another thread: the network went away)."""
        c = self._client
        if c is not None:
            with contextlib.suppress(OSError):
                c.sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ clients
    def _accept(self) -> None:
        try:
            sock, address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self._drain_client()       # a client that just closed must not hold the board
        if self._client is not None:
            self._refuse(sock, f"{address[0]}:{address[1]}")
            return
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = _Client(sock, address)
        self._sel.register(sock, selectors.EVENT_READ)
        self.clients_served += 1
        self.on_event("client", name=self._client.name)

    def _refuse(self, sock: socket.socket, name: str) -> None:
        """Answer a second client's first bytes with the BUSY line, then close it. Not at once:
        pyserial empties its input when it opens a socket, which would lose the line."""
        self.refused += 1
        holder = self._client.name
        sock.setblocking(False)
        if len(self._refusing) >= MAX_REFUSING:
            with contextlib.suppress(OSError):
                sock.close()
        else:
            self._refusing[sock] = (time.monotonic() + REFUSE_WAIT_S, holder)
            self._sel.register(sock, selectors.EVENT_READ)
        self.on_event("refused", name=name, holder=holder)

    def _answer_refused(self, sock: socket.socket | None = None) -> None:
        now = time.monotonic()
        for s in [sock] if sock is not None else list(self._refusing):
            due, holder = self._refusing.get(s, (now, ""))
            if sock is None and now < due:
                continue
            self._refusing.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(s)
            with contextlib.suppress(OSError):
                s.send(BUSY_PREFIX + f"the board is in use by {holder}; close StanceLab there "
                       "first, then connect again.\n".encode())
            with contextlib.suppress(OSError):
                s.close()

    def _drain_client(self) -> None:
        while self._client is not None:
            try:
                ready, _, _ = select.select([self._client.sock], [], [], 0)
            except (OSError, ValueError):
                ready = [True]
            if not ready:
                return
            self._read_client()

    def _read_client(self) -> None:
        c = self._client
        if c is None:
            return
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._drop_client(f"connection error ({exc.strerror or exc})")
            return
        if not data:
            self._drop_client("the client closed the connection")
            return
        commands = [m for m in c.decoder.feed(data) if isinstance(m, protocol.Command)]
        for m in commands:
            self.commands_passed += 1
            reply = self._device_call(self.device.receive,
                                      protocol.encode_command(m.type, m.payload))
            if reply:
                self._send(reply)

    def _drop_client(self, why: str) -> None:
        c, self._client = self._client, None
        if c is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(c.sock)
        with contextlib.suppress(OSError):
            c.sock.close()
        # The next client must find the board idle, as after a USB reconnect.
        self._device_call(self.device.receive, protocol.cmd_stop())
        self.on_event("gone", name=c.name, why=why)

    # ------------------------------------------------------------------ data
    def _device_call(self, fn, *args) -> bytes:
        try:
            return fn(*args) or b""
        except (OSError, ValueError) as exc:  # a lost port (SerialException is an OSError)
            self.on_event("error", message=f"the {self.device.description} failed: {exc}")
            self._stop.set()
            return b""

    def _pump_device(self) -> None:
        out = self._device_call(self.device.poll)
        if out and self._client is not None:
            self._send(out)       # without a client the frames go nowhere, as on a bare USB

    def _send(self, data: bytes) -> None:
        c = self._client
        if c is None:
            return
        if len(c.outbox) + len(data) > self.max_backlog_bytes:
            c.dropped_bytes += len(data)
            self.dropped_bytes += len(data)
            return
        c.outbox += data

    def _flush(self) -> None:
        c = self._client
        if c is None or not c.outbox:
            return
        try:
            n = c.sock.send(c.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._drop_client(f"connection error ({exc.strerror or exc})")
            return
        del c.outbox[:n]
