"""The serial ports worth trying, without opening any.

pyserial's list_ports only sees real devices, so extra candidate paths can come from the
environment variable STANCELAB_EXTRA_PORTS (os.pathsep-separated: ``:`` on Linux and macOS),
which is how tests probe a pty and how a user can add a symlinked or virtual port.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from serial.tools import list_ports as _list_ports

from stancelab.board.protocol import Identity

EXTRA_PORTS_ENV = "STANCELAB_EXTRA_PORTS"


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


def enumerate_ports() -> list[PortInfo]:
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
    return [p.device for p in enumerate_ports()]
