"""A board on the far side of a real pty, for serial tests.

The master side of ``os.openpty()`` is driven by a thread running a protocol-speaking device
(normally :class:`stancelab.sim.virtual_board.VirtualBoard`) paced by the wall clock, so the host
code under test opens the slave path with pyserial exactly as it would open /dev/ttyACM0.

Unplug closes both pty ends, so the host's reads fail as on a USB disconnect. The host opens a
symlink (``link_path``) rather than the pty itself; replug re-points the symlink at a new pty,
as a USB re-enumeration brings the same /dev/serial/by-id/... name back on a new device node.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import numpy as np

from stancelab.board import protocol
from stancelab.sim.virtual_board import VirtualBoard

BOARD_ID = 0x5E1A0042
STANDING_LOAD_N = 175.0  # per corner: a 70 kg athlete on the board


def standing_load(t_s: np.ndarray) -> np.ndarray:
    return np.full((len(t_s), 4), STANDING_LOAD_N)


def make_board(board_id: int = BOARD_ID, seed: int = 0) -> VirtualBoard:
    return VirtualBoard(standing_load, board_id=board_id, seed=seed)


class PtyPeer:
    """Runs ``device`` on a pty master. Attributes tests read: sent_samples, commands."""

    def __init__(self, device=None, *, link_path: str | None = None, tick_s: float = 0.002):
        self.device = device if device is not None else make_board()
        self.link_path = link_path
        self.tick_s = tick_s
        self.silent = False                  # ignore commands (not a StanceLab board)
        self.identity_override: dict = {}    # fields to change in IDENTITY replies
        #: A slow board: replies to a chunk of commands holding IDENTIFY are written this many
        #: seconds after it arrived (the board streams on meanwhile, if it was streaming).
        self.identify_delay_s = 0.0
        self._held: list[tuple[float, bytes]] = []      # (due monotonic, reply bytes)
        self.sent_samples: list[tuple[int, int]] = []   # (seq, t_us) actually written
        self.commands: list[int] = []        # command types received
        self.unplugged_device_us: int | None = None
        self.replugged_device_us: int | None = None
        self._lock = threading.Lock()
        self._outbox: list[bytes] = []
        self._out_decoder = protocol.Decoder()
        self._cmd_decoder = protocol.Decoder()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._master = self._slave = None
        self.slave_name: str | None = None
        self._unplugged_at: float | None = None

    # -- lifecycle
    @property
    def path(self) -> str:
        return self.link_path or self.slave_name

    def start(self) -> PtyPeer:
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pty-peer", daemon=True)
        self._thread.start()
        return self

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        # Raw at once: in the default cooked mode the line discipline would echo our own frames
        # back to us and mangle bytes before the host configures the port.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.slave_name = os.ttyname(slave)
        self._cmd_decoder = protocol.Decoder()
        if self.link_path:
            tmp = self.link_path + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.slave_name, tmp)
            os.replace(tmp, self.link_path)   # atomic re-point

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def close(self) -> None:
        self._halt()
        if self.link_path and os.path.lexists(self.link_path):
            os.unlink(self.link_path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- faults
    def unplug(self) -> None:
        """The cable is pulled: both pty ends vanish and so does the device node."""
        self._halt()
        if self.link_path and os.path.lexists(self.link_path):
            os.unlink(self.link_path)
        self._unplugged_at = time.monotonic()
        self.unplugged_device_us = self.device.device_us()

    def replug(self, *, power_lost: bool = False) -> None:
        """The board comes back on a new pty behind the same path.

        ``power_lost``: the board reset (bus-powered), so it is idle and its clock restarted;
        otherwise it kept running on its own supply while disconnected (output went nowhere).
        """
        away = time.monotonic() - (self._unplugged_at or time.monotonic())
        self.device.advance(away)
        if power_lost:
            self.device.boot()
        self.replugged_device_us = self.device.device_us()
        self.start()

    def inject(self, data: bytes) -> None:
        """Raw bytes (garbage, corrupt frames) to send between the device's frames."""
        with self._lock:
            self._outbox.append(bytes(data))

    def device_command(self, frame: bytes) -> None:
        """Drive the device directly, as if another program had sent ``frame`` earlier."""
        with self._lock:
            self.device.receive(frame)

    def reset_board(self) -> None:
        """The board resets mid-stream (brown-out, reset button): BOOT, then idle."""
        with self._lock:
            self._outbox.append(self.device.boot())

    # -- the device loop
    def _run(self) -> None:
        last = time.monotonic()
        master = self._master
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], self.tick_s)
            out = []
            with self._lock:
                if ready:
                    try:
                        data = os.read(master, 4096)
                    except (BlockingIOError, OSError):
                        data = b""
                    if data:
                        n_before = len(self.commands)
                        self._note_commands(data)
                        if not self.silent:
                            reply = self._rewrite(self.device.receive(data))
                            if self.identify_delay_s and \
                                    protocol.C_IDENTIFY in self.commands[n_before:]:
                                self._held.append((time.monotonic() + self.identify_delay_s,
                                                   reply))
                            else:
                                out.append(reply)
                now = time.monotonic()
                while self._held and self._held[0][0] <= now:
                    out.append(self._held.pop(0)[1])
                out.append(self.device.advance(now - last))
                last = now
                out.extend(self._outbox)
                self._outbox.clear()
                self._write(master, b"".join(out))

    def _note_commands(self, data: bytes) -> None:
        for m in self._cmd_decoder.feed(data):
            if isinstance(m, protocol.Command):
                self.commands.append(m.type)

    def _rewrite(self, replies: bytes) -> bytes:
        if not self.identity_override or not replies:
            return replies
        out = []
        for m in protocol.Decoder().feed(replies):
            if isinstance(m, protocol.Identity):
                out.append(protocol.encode_identity(m._replace(**self.identity_override)))
            elif isinstance(m, protocol.Ack):
                out.append(protocol.encode_ack(m.command, m.result))
            elif isinstance(m, protocol.Pong):
                out.append(protocol.encode_pong(m.token, m.t_us))
        return b"".join(out)

    def _write(self, master: int, data: bytes) -> None:
        """Like a USB-serial chip: what the host does not take in time is dropped."""
        if not data:
            return
        try:
            n = os.write(master, data)
        except (BlockingIOError, OSError):
            n = 0
        self._out_decoder.reset_sequence()   # record every frame written, repeats included
        for m in self._out_decoder.feed(data[:n]):
            if isinstance(m, protocol.SampleFrame):
                self.sent_samples.append((m.seq, m.t_us))
        if n < len(data):
            self._out_decoder = protocol.Decoder()  # a cut frame must not merge with the next


def measure(trials: int = 10) -> None:
    """Figures for docs/serial.md: ping round trip, and reconnect delay in device time."""
    import tempfile

    from stancelab.board.serial_board import SerialBoard

    with tempfile.TemporaryDirectory() as d:
        peer = PtyPeer(link_path=os.path.join(d, "ttyStanceLab")).start()
        board = SerialBoard(peer.path)
        board.open()
        rtt_ms = np.array([board.ping() for _ in range(200)]) * 1e3
        print(f"ping round trip over a pty: p50 {np.percentile(rtt_ms, 50):.2f} ms, "
              f"p99 {np.percentile(rtt_ms, 99):.2f} ms (n=200)")
        board.start()
        back_ms = []
        for i in range(trials):
            power_lost = bool(i % 2)
            time.sleep(0.3)
            peer.unplug()
            while board.state.connected:
                time.sleep(0.005)
            time.sleep(0.2)
            board.read()   # samples from before the loss
            n = len(peer.sent_samples)
            peer.replug(power_lost=power_lost)
            got = []
            while not got:
                got = board.read(timeout=0.05)
            first_seq = got[0].seq
            time.sleep(0.05)   # the peer logs a frame just after writing it
            sent = [t for s, t in peer.sent_samples[n:] if s == first_seq][-1]
            back_ms.append((sent - peer.replugged_device_us) / 1e3)
        print(f"board back on the port -> first sample received, device time: median "
              f"{np.median(back_ms):.0f} ms, max {max(back_ms):.0f} ms (n={trials}, "
              f"half with a board reset)")
        board.close()
        peer.close()


if __name__ == "__main__":
    measure()
