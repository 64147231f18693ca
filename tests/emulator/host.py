"""Host-side helpers shared by the emulator test modules: the toolchain and values fixtures and
a sample collector with a wall-clock limit."""

from __future__ import annotations

import time

import pytest

from emulator import runner, values

WALL_LIMIT_S = 150.0


@pytest.fixture(scope="module")
def toolchain():
    missing = runner.missing_tools()
    if missing:
        msg = (f"firmware emulator toolchain missing ({', '.join(missing)}); install it with: "
               f"{runner.INSTALL_HINT}")
        if runner.require_env():
            pytest.fail("STANCELAB_REQUIRE_EMULATOR is set but the " + msg)
        pytest.skip(msg)
    return runner.build_harness()


@pytest.fixture(scope="module")
def values_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("values") / "values.txt"
    return path, values.write(str(path))


def collect(board, until, harness=None, wall_s: float = WALL_LIMIT_S) -> list:
    """Read samples until ``until(samples)``; with ``harness``, until it exits."""
    out: list = []
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        out.extend(board.read(timeout=0.1))
        if until is not None and out and until(out):
            return out
        if harness is not None and harness.proc.poll() is not None:
            out.extend(board.read(timeout=0.3))
            return out
        if harness is None and not board.state.connected:
            raise AssertionError(f"board disconnected after {len(out)} samples: "
                                 f"{board.state.error}")
    raise AssertionError(f"emulated board too slow: {len(out)} samples in {wall_s} s")


def span(samples) -> float:
    return samples[-1].t_s - samples[0].t_s


