"""A throw-away PostgreSQL cluster for the storage tests: initdb in a temp folder, a unix socket
there, no TCP port. Started by `.ci/run` (``python tests/pg_cluster.py start DIR`` prints the
``export`` lines) or by the tests themselves when no server is given and initdb exists.

As root (CI runs as root; initdb refuses to) the cluster runs as the ``postgres`` user that
Debian's package creates, else as ``nobody``, through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

URL_ENV = "STANCELAB_TEST_POSTGRES_URL"       # a server the tests may create schemas on
DATA_ENV = "STANCELAB_TEST_POSTGRES_DATA"     # its data folder (lets a test restart it)
REQUIRE_ENV = "STANCELAB_REQUIRE_POSTGRES"    # CI: fail instead of skipping
PORT = 5432
USER = "stancelab"


def bin_dir() -> Path | None:
    """Debian's newest /usr/lib/postgresql/N/bin, else the initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run "
                       "the PostgreSQL cluster as")


class Cluster:
    """One cluster in ``root`` (its socket too); ``url`` names its ``stancelab`` database."""

    def __init__(self, root: str | Path, bindir: Path | None = None) -> None:
        self.root = Path(root)
        self.data = self.root / "data"
        self.bindir = bindir or bin_dir()
        if self.bindir is None:
            raise RuntimeError("no initdb: install PostgreSQL (apt-get install postgresql)")
        self.user = _run_as()
        self.url = (f"postgresql://{USER}@/{USER}?host={urllib.parse.quote(str(self.root))}"
                    f"&port={PORT}")

    def _cmd(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {r.stderr.strip()}"
                               f"\n{self._log_tail()}")
        return r

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def init(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.root, self.user)
        os.chmod(self.root, 0o755)   # the socket lives here; the tests connect as root
        self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        self.start()
        self._cmd("createdb", "-h", str(self.root), "-p", str(PORT), "-U", USER, USER)
        return self

    def start(self) -> None:
        # fsync=off: a test cluster only; killing it (stop -m immediate) keeps the OS cache,
        # so nothing committed is lost by that either.
        opts = f"-k {shlex.quote(str(self.root))} -c listen_addresses='' -p {PORT} -F"
        self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``mode="immediate"`` is a crash: every server process is killed without cleanup."""
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                  check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def cluster_of(data: str | Path) -> Cluster:
    """The cluster whose data folder is ``data`` (started by `.ci/run`)."""
    return Cluster(Path(data).parent)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "start":
        c = Cluster(argv[2]).init()
        print(f"export {URL_ENV}={shlex.quote(c.url)}")
        print(f"export {DATA_ENV}={shlex.quote(str(c.data))}")
        return 0
    if len(argv) == 3 and argv[1] == "stop":
        Cluster(argv[2]).destroy()
        return 0
    print("usage: pg_cluster.py start|stop DIR", file=sys.stderr)
    return 2


def temp_cluster() -> Cluster:
    return Cluster(tempfile.mkdtemp(prefix="stancelab-pg-")).init()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
