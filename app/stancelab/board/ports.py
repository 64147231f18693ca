"""Finding the board: probe the serial ports and mark those where a StanceLab board answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from stancelab.board import protocol, serial_board
from stancelab.board.port_names import EXTRA_PORTS_ENV, PortInfo, candidate_devices, enumerate_ports
from stancelab.board.serial_board import SerialBoard
from stancelab.board.source import SourceError

__all__ = ["EXTRA_PORTS_ENV", "PortInfo", "candidate_devices", "find_board", "identify_port", "list_ports"]

#: Opening a port resets most Arduinos; their bootloader keeps silent for about a second.
FIND_TIMEOUT_S = 1.5


def identify_port(port: str, timeout_s: float = 0.5,
                  baudrate: int = 115200) -> protocol.Identity:
    """Open ``port``, ask IDENTIFY and close it; SourceError (worded for users) if no board."""
    board = SerialBoard(port, baudrate=baudrate, auto_reconnect=False, boot_grace_s=timeout_s)
    ser = board._open_port()
    try:
        board._new_connection()
        attempts = serial_board.IDENTIFY_ATTEMPTS
        return board._identify(ser, attempts, timeout_s / attempts, timeout_s)
    finally:
        ser.close()


def _probe(info: PortInfo, timeout: float) -> PortInfo:
    try:
        ident = identify_port(info.device, timeout_s=timeout)
    except SourceError as e:
        return PortInfo(info.device, info.description, info.hwid, None, str(e))
    return PortInfo(info.device, info.description, info.hwid, ident, None)


def list_ports(probe: bool = True, timeout: float = 0.5) -> list[PortInfo]:
    """Every candidate port; with ``probe``, each is opened and asked IDENTIFY (in parallel)."""
    ports = enumerate_ports()
    if not probe or not ports:
        return ports
    with ThreadPoolExecutor(max_workers=min(8, len(ports)),
                            thread_name_prefix="stancelab-probe") as pool:
        return list(pool.map(lambda p: _probe(p, timeout), ports))


def find_board(timeout: float = FIND_TIMEOUT_S) -> str | None:
    """The port of the one StanceLab board plugged in, None if there is none.

    Several boards are an error naming them: the app must not pick one at random.
    """
    boards = [p for p in list_ports(probe=True, timeout=timeout) if p.is_board]
    if not boards:
        return None
    if len(boards) > 1:
        names = ", ".join(f"{p.device} (board {p.identity.board_id:08x})" for p in boards)
        raise SourceError(f"Several StanceLab boards are plugged in: {names}. "
                          "Choose one with --port.")
    return boards[0].device
