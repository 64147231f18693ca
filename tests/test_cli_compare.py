"""`stancelab compare` prints the same lines in the same order on every run."""

from __future__ import annotations

import os
import subprocess
import sys

from stancelab import cli


def _compare(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    r = subprocess.run([sys.executable, "-m", "stancelab", "compare", "--athlete", "Order"],
                       env=env, capture_output=True, text=True, timeout=120, check=True)
    return r.stdout


def test_compare_output_is_in_a_stable_order():
    for leg in ("left", "right"):
        assert cli.main(["run-drill", "clock", "--leg", leg, "--athlete", "Order", "--simulate",
                         "--fast", "--json"]) == 0
    runs = [_compare(seed) for seed in ("1", "2", "3")]
    assert "reaction_time_s" in runs[0]          # the per-target rows are there
    assert runs[0] == runs[1] == runs[2]


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`stancelab compare | head -1`: the pipe closes under the writer; the command stops
    quietly (exit 141, like other Unix tools) instead of printing a BrokenPipeError."""
    assert cli.main(["run-drill", "clock", "--leg", "left", "--athlete", "Pipe", "--simulate",
                     "--fast"]) == 0
    r_fd, w_fd = os.pipe()
    os.close(r_fd)                               # the reader is gone before the first write
    try:
        r = subprocess.run([sys.executable, "-m", "stancelab", "compare", "--athlete", "Pipe"],
                           stdout=w_fd, stderr=subprocess.PIPE, text=True, timeout=120,
                           check=False)
    finally:
        os.close(w_fd)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 141
