"""Finding the board: list serial ports and mark those where a StanceLab board answers.

pyserial's list_ports only sees real devices, so extra candidate paths can come from the
environment variable STANCELAB_EXTRA_PORTS (os.pathsep-separated: ``:`` on Linux and macOS),
which is how tests probe a pty and how a user can add a symlinked or virtual port.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from serial.tools import list_ports as _list_ports

from .protocol import Identity
from .serial_board import identify_port
from .source import SourceError

EXTRA_PORTS_ENV = "STANCELAB_EXTRA_PORTS"
#: Opening a port resets most Arduinos; their bootloader keeps silent for about a second.
FIND_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str
    hwid: str
    identity: Identity | None = None   # set when a StanceLab board answered IDENTIFY
    error: str | None = None           # why probing failed (busy, permission, no answer)

    @property
    def is_board(self) -> bool:
        return self.identity is not None


def _extra_paths() -> list[str]:
    raw = os.environ.get(EXTRA_PORTS_ENV, "")
    return [p for p in raw.split(os.pathsep) if p]


def _enumerate() -> list[PortInfo]:
    found = [PortInfo(p.device, p.description or "", p.hwid or "")
             for p in sorted(_list_ports.comports(), key=lambda p: p.device)]
    seen = {p.device for p in found}
    for path in _extra_paths():
        if path not in seen:
            seen.add(path)
            found.append(PortInfo(path, f"extra port ({EXTRA_PORTS_ENV})", "n/a"))
    return found


def candidate_devices() -> list[str]:
    """Device names worth trying, without opening anything."""
    return [p.device for p in _enumerate()]


def _probe(info: PortInfo, timeout: float) -> PortInfo:
    try:
        ident = identify_port(info.device, timeout_s=timeout)
    except SourceError as e:
        return PortInfo(info.device, info.description, info.hwid, None, str(e))
    return PortInfo(info.device, info.description, info.hwid, ident, None)


def list_ports(probe: bool = True, timeout: float = 0.5) -> list[PortInfo]:
    """Every candidate port; with ``probe``, each is opened and asked IDENTIFY (in parallel)."""
    ports = _enumerate()
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
