"""Export: session CSVs, the summary CSV, a PDF report for the coach, PNGs of the plots.

The report is stancelab.report's (the same file as `stancelab report`), made from the database
on the worker, never from this app's widgets. "For spreadsheets" writes the CSVs in the
decimal-comma spreadsheet dialect (files.csv_write.SPREADSHEET) instead of the plain CSV.

Each export runs on the worker with its own database connection (a long export never holds
the app's): the screen shows a progress bar and disables the export buttons until it ends,
then lists the files written, or says in one line what went wrong (with the files written
before it, which are kept; a file being written when it failed is not left half written).
"""

from __future__ import annotations

import errno
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stancelab import paths
from stancelab.files import csv_write, transfer
from stancelab.storage import Storage, StorageError
from stancelab.ui.widgets.common import ACCENT
from stancelab.ui.widgets.reloads import ReloadsWhenShown


class NothingToExport(Exception):
    """Said as it is: not a failure."""


class ExportFailed(Exception):
    """An export stopped by ``cause``, after writing ``files``."""

    def __init__(self, cause: BaseException, files: list[Path]) -> None:
        super().__init__(str(cause))
        self.cause, self.files = cause, files


class ExportScreen(ReloadsWhenShown, QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.folder = QLineEdit(str(paths.data_dir() / "exports"))
        self.folder.setObjectName("folder")
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        self.sessions = QListWidget()
        self.sessions.setObjectName("sessions")
        self.buttons = {}
        for key, text, slot in (
                ("session", "Session CSVs (raw + summary)", self.export_session),
                ("summary", "Summary CSV of all trials", self.export_summary),
                ("pdf", "PDF report for the coach", self.export_pdf),
                ("png", "PNG of every plot", self.export_pngs)):
            b = QPushButton(text)
            b.setObjectName(f"export-{key}")
            b.clicked.connect(slot)
            self.buttons[key] = b
        self.excel = QCheckBox("CSVs for spreadsheets (semicolons, decimal commas)")
        self.excel.setObjectName("export-excel")
        # The dark theme draws no box around an unchecked indicator: give it one.
        self.excel.setStyleSheet(
            "QCheckBox::indicator { width: 16px; height: 16px; border: 1px solid #9aa4b1; "
            "border-radius: 3px; background: #1b2129; } "
            f"QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}")
        self.excel.setToolTip("For Excel or LibreOffice set to a decimal-comma locale. Leave "
                              "it off for pandas, R and importing back into StanceLab.")
        self.progress = QProgressBar()
        self.progress.setObjectName("export-progress")
        self.progress.setVisible(False)
        self.task = None               # the export on the worker
        self.written: list[Path] = []  # files the last export wrote
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        row.addWidget(self.folder, 1)
        row.addWidget(choose)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(QLabel("Sessions of the current athlete"))
        lay.addWidget(self.sessions, 1)
        brow = QHBoxLayout()
        for b in self.buttons.values():
            brow.addWidget(b)
        lay.addLayout(brow)
        lay.addWidget(self.excel)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        # A stored trial or another athlete marks the list stale; it is read (on the worker)
        # when the screen is shown, not on every change during a drill.
        self.watch_results(ctx)

    def load_request(self) -> tuple:
        return (self.ctx.athlete.id if self.ctx.athlete is not None else None,)

    def load(self, athlete_id: int | None) -> list:
        if athlete_id is None:
            return []
        return [s for s in reversed(self.ctx.storage.session_summaries(athlete_id))
                if s.trial_count]

    def load_failed(self, message: str) -> None:
        self.message.setText(message)

    def render(self, sessions: list, now: bool = True) -> None:
        self.sessions.clear()
        for s in sessions:
            item = QListWidgetItem(f"Session {s.id} · {s.started[:16].replace('T', ' ')} · "
                                   f"{s.trial_count} trials · {s.source_kind}")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            self.sessions.addItem(item)
        if self.sessions.count():
            self.sessions.setCurrentRow(0)

    def _choose(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if d:
            self.folder.setText(d)

    def _dialect(self) -> csv_write.Dialect:
        return csv_write.SPREADSHEET if self.excel.isChecked() else csv_write.PLAIN

    def _stem(self) -> str:
        return csv_write.safe_filename(self.ctx.athlete.name if self.ctx.athlete else "athlete")

    @property
    def busy(self) -> bool:
        return self.task is not None

    # -- running an export
    def _run(self, what: str, job, *args):
        """Run ``job(store, folder, *args, progress=...) -> [paths]`` on the worker, with the
        folder from the box and a database connection of its own."""
        if self.task is not None:
            return None
        folder = Path(self.folder.text()).expanduser()
        path = self.ctx.storage.path

        def work(progress):
            files: list[Path] = []
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with Storage(path) as store:
                    job(store, folder, *args, files=files, progress=progress)
            except Exception as exc:
                raise ExportFailed(exc, files) from exc
            return files

        self.written = []
        self.message.setText(f"Exporting {what}…")
        self.progress.setRange(0, 0)          # busy until the first progress report
        self.progress.setVisible(True)
        for b in self.buttons.values():
            b.setEnabled(False)
        self.task = self.ctx.worker.submit(work, on_done=self._done, on_error=self._fail,
                                           on_progress=self._progress, name=f"export {what}")
        return self.task

    def _progress(self, done, total) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(int(done))

    def _finished(self, files: list[Path]) -> None:
        self.task = None
        self.written = files
        self.progress.setVisible(False)
        for b in self.buttons.values():
            b.setEnabled(True)

    def _done(self, files: list[Path]) -> None:
        self._finished(files)
        self.message.setText("Written:\n" + "\n".join(str(f) for f in files))

    def _fail(self, exc: BaseException) -> None:
        files = exc.files if isinstance(exc, ExportFailed) else []
        cause = exc.cause if isinstance(exc, ExportFailed) else exc
        self._finished(files)
        why = " ".join(str(cause).split()) or type(cause).__name__
        if isinstance(cause, NothingToExport):
            line = why
        elif isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            line = ("Export failed: the disk is full; nothing half-written was left. Free "
                    "some space or choose a folder on another disk.")
        elif isinstance(cause, OSError):
            line = f"Export failed: {why}. Choose a folder you can write to."
        elif isinstance(cause, StorageError):
            line = f"Export failed: {why}"
        else:
            line = f"Export failed ({type(cause).__name__}): {why}"
        if files:
            line += f" Written before: {', '.join(f.name for f in files)}."
        self.message.setText(line)

    # -- the exports (each returns the worker task, None when nothing to do or one is running)
    def export_session(self):
        item = self.sessions.currentItem()
        if item is None:
            self.message.setText("No session with trials yet: run a drill first.")
            return None
        return self._run("the session CSVs", _session_job, item.data(Qt.ItemDataRole.UserRole),
                         self._dialect())

    def export_summary(self):
        a = self.ctx.athlete
        if a is None:
            self.message.setText("No trials yet: run a drill first.")
            return None
        return self._run("the summary CSV", _summary_job, a, self._stem(), self._dialect())

    def export_pdf(self):
        a = self.ctx.athlete
        if a is None:
            self.message.setText("Pick an athlete first.")
            return None
        return self._run("the PDF report", _report_job, a, self._stem(), True)

    def export_pngs(self):
        a = self.ctx.athlete
        if a is None:
            self.message.setText("Pick an athlete first.")
            return None
        return self._run("the plots", _report_job, a, self._stem(), False)

    def shutdown(self) -> None:
        if self.task is not None:     # the window closes: the files are still written
            self.task.cancel()
            self.task = None


# -- the jobs: on a worker thread, no widgets -----------------------------------------------

def _session_job(store, folder: Path, session_id: int, dialect, *, files, progress) -> None:
    raw, summary = transfer.export_session(store, session_id, folder, progress=progress,
                                           dialect=dialect)
    files += [Path(raw)] + ([Path(summary)] if summary else [])


def _summary_job(store, folder: Path, athlete, stem: str, dialect, *, files,
                 progress) -> None:
    trials = [t for t in store.trials_for_athlete(athlete.id) if t.status != "recording"]
    if not trials:
        raise NothingToExport("No trials yet: run a drill first.")
    files.append(transfer.export_summary(
        store, trials, folder / f"{stem}_all_summary{dialect.suffix}.csv",
        {"athlete": athlete.name}, dialect))
    progress(1, 1)


def _report_job(store, folder: Path, athlete, stem: str, pdf: bool, *, files,
                progress) -> None:
    """The PDF report (``pdf``) or the PNG of each of its plots: reading is the first 6 of
    10 steps, drawing and writing the rest."""
    # Imported here, on the worker: matplotlib's PDF backend costs ~0.7 s, which the app's
    # start-up (the first COP painted) should not pay for a screen that may never be used.
    from stancelab import report

    steps = 10
    try:
        content = report.gather(store, athlete, progress=lambda done, total: progress(
            int(6 * done / max(total, 1)), steps))
    except report.ReportError:
        raise NothingToExport(f"No trials yet for {athlete.name}: run a drill first.") \
            from None
    if pdf:
        files.append(report.write_report(
            folder / f"{stem}_report.pdf", content,
            lambda done, total: progress(6 + int(4 * done / max(total, 1)), steps)))
    else:
        report.write_pngs(folder, stem, content, files)
    progress(steps, steps)
