"""Export: session CSVs, the summary CSV, a PDF report for the coach, PNGs of the plots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stancelab import paths
from stancelab.files import csv_write, transfer
from stancelab.storage import StorageError
from stancelab.ui import trialdata as td


class ExportScreen(QWidget):
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
        lay.addWidget(self.message)
        ctx.results_changed.connect(self.reload)
        ctx.athlete_changed.connect(lambda a: self.reload())

    def activated(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.sessions.clear()
        a = self.ctx.athlete
        if a is None:
            return
        for s in reversed(self.ctx.storage.sessions(a.id)):
            trials = self.ctx.storage.trials(s.id)
            if not trials:
                continue
            item = QListWidgetItem(f"Session {s.id} · {s.started[:16].replace('T', ' ')} · "
                                   f"{len(trials)} trials · {s.source_kind}")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            self.sessions.addItem(item)
        if self.sessions.count():
            self.sessions.setCurrentRow(0)

    def _choose(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if d:
            self.folder.setText(d)

    def _out(self) -> Path:
        p = Path(self.folder.text()).expanduser()
        p.mkdir(parents=True, exist_ok=True)
        return p

    def _done(self, files) -> list[Path]:
        files = [Path(f) for f in files]
        self.message.setText("Written:\n" + "\n".join(str(f) for f in files))
        return files

    def _fail(self, exc: Exception) -> list[Path]:
        self.message.setText(f"Export failed: {exc}. Choose a folder you can write to.")
        return []

    def _stem(self) -> str:
        return csv_write.safe_filename(self.ctx.athlete.name if self.ctx.athlete else "athlete")

    # -- exports
    def export_session(self) -> list[Path]:
        item = self.sessions.currentItem()
        if item is None:
            self.message.setText("No session with trials yet: run a drill first.")
            return []
        try:
            raw, summary = transfer.export_session(self.ctx.storage,
                                                   item.data(Qt.ItemDataRole.UserRole),
                                                   self._out())
        except (OSError, StorageError) as exc:
            return self._fail(exc)
        return self._done([raw, summary])

    def export_summary(self) -> list[Path]:
        a = self.ctx.athlete
        trials = [t for s in self.ctx.storage.sessions(a.id) for t in self.ctx.storage.trials(s.id)
                  if t.status != "recording"] if a else []
        if not trials:
            self.message.setText("No trials yet: run a drill first.")
            return []
        try:
            path = transfer.export_summary(self.ctx.storage, trials,
                                           self._out() / f"{self._stem()}_all_summary.csv",
                                           {"athlete": a.name})
        except (OSError, StorageError) as exc:
            return self._fail(exc)
        return self._done([path])

    def _plots(self) -> dict:
        """name -> plot widget of the result screens, refreshed for the current athlete."""
        screens = self.ctx.window.screens if self.ctx.window is not None else {}
        out = {}
        if "Results" in screens:
            r = screens["Results"]
            r.reload()
            out.update(stabilogram=r.stabilogram, reach=r.reach)
        if "Compare" in screens:
            c = screens["Compare"]
            c.reload()
            out.update(comparison=c.plot)
        return out

    def export_pngs(self) -> list[Path]:
        files = []
        try:
            for name, w in self._plots().items():
                path = self._out() / f"{self._stem()}_{name}.png"
                if not w.grab().save(str(path)):
                    raise OSError(f"could not write {path}")
                files.append(path)
        except OSError as exc:
            return self._fail(exc)
        return self._done(files)

    def export_pdf(self) -> list[Path]:
        a = self.ctx.athlete
        if a is None:
            self.message.setText("Pick an athlete first.")
            return []
        try:
            path = self._out() / f"{self._stem()}_report.pdf"
            write_report(path, self.ctx, self._plots())
        except OSError as exc:
            return self._fail(exc)
        return self._done([path])


def write_report(path: Path, ctx, plots: dict) -> Path:
    """A4 report: athlete, left/right comparison tables per drill, trends, the plots."""
    from stancelab.ui.screens.compare import KINDS, CompareScreen

    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setResolution(150)
    writer.setTitle(f"StanceLab report — {ctx.athlete.name}")
    p = QPainter()
    if not p.begin(writer):
        raise OSError(f"could not write {path}")
    try:
        width = writer.width()
        y = 0

        def text(s: str, pt: int = 10, bold: bool = False, colour: str = "#000000") -> None:
            nonlocal y
            f = QFont()
            f.setPointSize(pt)
            f.setBold(bold)
            p.setFont(f)
            p.setPen(QColor(colour))
            h = p.fontMetrics().height()
            if y + h > writer.height():
                writer.newPage()
                y = 0
            p.drawText(QRectF(0, y, width, h * 1.4), Qt.AlignmentFlag.AlignLeft, s)
            y += int(h * 1.3)

        a = ctx.athlete
        text("StanceLab — balance report", 18, True)
        text(f"{a.name} · foot {ctx.foot_length_mm:.0f} mm · dominant leg {a.dominant_leg or '—'}"
             f" · injured side {a.injured_side or '—'}", 11)
        text(f"Sessions: {len(ctx.storage.sessions(a.id))}", 10, colour="#444444")
        y += 10
        cmp = ctx.window.screens.get("Compare") if ctx.window is not None else None
        cmp = cmp or CompareScreen(ctx)
        for key, title in KINDS:
            cmp.set_kind(key)
            text(f"{title}: left vs right", 13, True)
            text(cmp.summary.text(), 10, colour="#444444")
            for r in cmp.rows:
                k = r["metric"]
                flag = "  ⚑" if r["flagged"] else ""
                text(f"{td.label_of(k):<34} L {td.fmt(r['left'], k):>12}   "
                     f"R {td.fmt(r['right'], k):>12}   asym {r['asymmetry_pct']:4.0f} %   "
                     f"better: {r['better'] or '—'}{flag}", 9)
            y += 8
        for name, w in plots.items():
            img = w.grab().toImage()
            if img.isNull():
                continue
            scale = min(width / img.width(), 0.45 * writer.height() / img.height())
            h = int(img.height() * scale)
            if y + h + 40 > writer.height():
                writer.newPage()
                y = 0
            text(name.capitalize(), 12, True)
            p.drawImage(QRectF(0, y, img.width() * scale, h), img)
            y += h + 20
    finally:
        p.end()
    return path
