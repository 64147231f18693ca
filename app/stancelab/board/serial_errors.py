"""The serial board's messages for what goes wrong opening or talking to a port, naming the fix.

Kept apart from :mod:`stancelab.board.serial_board` (the reader and the handshake). A port may
be a device path or a pyserial URL (``socket://HOST:PORT`` for a board served over the network
by ``stancelab serve``); a server that refuses a second client says why in one text line
starting with :data:`BUSY_PREFIX` before it closes the connection.
"""

from __future__ import annotations

import errno
import sys

from stancelab.board import protocol
from stancelab.board.source import SourceError

FIRMWARE_FIX = "flash the StanceLab firmware (docs/firmware.md)"
#: The first bytes `stancelab serve` sends a client it refuses (never the start of a frame).
BUSY_PREFIX = b"STANCELAB-BUSY: "


def busy_reply(port: str, first_bytes: bytes) -> str | None:
    """The server's refusal as a message for the user, if ``first_bytes`` hold one."""
    if not first_bytes.startswith(BUSY_PREFIX):
        return None
    line = first_bytes[len(BUSY_PREFIX):].split(b"\n", 1)[0].decode("utf-8", "replace")
    return f"The board server at {port} refused this connection: {line.strip()}"


def open_error(port: str, exc: BaseException) -> SourceError:
    """Turn an OS/pyserial failure to open ``port`` into a message that names the fix."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    low = text.lower()
    if port.startswith("socket://"):
        return SourceError(
            f"Cannot reach the board server at {port} ({text}). Check that `stancelab serve "
            f"--listen HOST:PORT` runs on the Pi and that HOST:PORT is right "
            "(docs/raspberry-pi.md).")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "cannot find the file" in low \
            or "filenotfounderror" in low:
        from stancelab.board.port_names import candidate_devices

        present = ", ".join(candidate_devices()) or "none"
        return SourceError(
            f"No serial port {port}. Serial ports on this computer: {present}. "
            "Check the USB cable, run `stancelab ports` to find the board, "
            "or use --simulate to run without one.")
    if code in (errno.EACCES, errno.EPERM) or "permission" in low or "access is denied" in low:
        if sys.platform.startswith("win"):
            return _busy_error(port)
        fix = ("On Linux add your user to the dialout group: `sudo usermod -aG dialout $USER`, "
               "then log out and back in." if sys.platform.startswith("linux") else
               "Give your user read/write access to the device, then try again.")
        return SourceError(f"Permission denied opening serial port {port}. {fix}")
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in low:
        return _busy_error(port)
    if code == errno.ENOTTY or "could not configure port" in low:
        return SourceError(
            f"{port} is not a serial port ({text}). Run `stancelab ports` to find the board.")
    return SourceError(
        f"Could not open serial port {port}: {text}. Check the cable and run `stancelab ports`.")


def _busy_error(port: str) -> SourceError:
    return SourceError(
        f"Serial port {port} is in use by another program, for example the Arduino IDE serial "
        "monitor or plotter, or another StanceLab window. Close it and try again.")


def protocol_error(port: str, identity: protocol.Identity) -> SourceError:
    if identity.protocol_version > protocol.PROTOCOL_VERSION:
        fix = "update StanceLab on this computer, or flash firmware that speaks protocol 1"
    else:
        fix = "update the board's firmware: " + FIRMWARE_FIX
    return SourceError(
        f"The board on {port} speaks protocol version {identity.protocol_version} "
        f"(firmware {identity.firmware_version}) but this StanceLab speaks version "
        f"{protocol.PROTOCOL_VERSION}: {fix}.")
