"""A real full disk for tests: a tiny tmpfs mounted in a private user+mount namespace.

``unshare -rm`` needs no root where user namespaces are enabled; the script given mounts the
tmpfs on ``<tmp>/mnt``, works there and copies what the test must read into ``<tmp>/out``
before the namespace (and its tmpfs) goes away.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest


def run_on_small_tmpfs(tmp_path, script: str, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a small tmpfs")
    (tmp_path / "mnt").mkdir()
    (tmp_path / "out").mkdir()
    path = tmp_path / "full.sh"
    path.write_text(script)
    return subprocess.run(["unshare", "-rm", "sh", str(path), str(tmp_path), *args],
                          capture_output=True, text=True, timeout=300, check=False)
