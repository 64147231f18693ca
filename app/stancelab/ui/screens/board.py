"""Board screen for the builder: connect, status, calibration wizard, per-corner check."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stancelab import calibration as cal
from stancelab.board.source import SourceError
from stancelab.geometry import CHANNEL_NAMES, CHANNEL_SHORT
from stancelab.station.calibrate import (
    CALIBRATION_MARKS_MM,
    DEFAULT_MASS_KG,
    MASS_RANGE_KG,
    CalibrationProcedure,
    MarkCheck,
    Verdict,
    first_step,
)
from stancelab.station.calibrations import save_accepted
from stancelab.ui.session import LiveFrame
from stancelab.ui.widgets import ACCENT, BG, OK, WARN, big_label


class BoardScreen(QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        #: The calibration procedure being run by the wizard, and the verdict it last reached.
        self._proc: CalibrationProcedure | None = None
        self.verdict: Verdict | None = None

        # connect
        self.ports = QComboBox()
        self.ports.setObjectName("ports")
        self._listing = None          # the worker task listing the ports
        self.find_button = refresh = QPushButton("Find boards")
        refresh.clicked.connect(lambda: self.refresh_ports())
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_selected)
        self.connect_message = QLabel("")
        self.connect_message.setWordWrap(True)
        conn = QGroupBox("Connect")
        cl = QVBoxLayout(conn)
        row = QHBoxLayout()
        row.addWidget(self.ports, 1)
        row.addWidget(refresh)
        row.addWidget(self.connect_button)
        cl.addLayout(row)
        cl.addWidget(self.connect_message)

        # status
        self.status_labels = {k: QLabel("—") for k in
                              ("board", "firmware", "rate", "lost", "calibration")}
        stat = QGroupBox("Status")
        sf = QFormLayout(stat)
        for k, text in (("board", "Board"), ("firmware", "Firmware"), ("rate", "Rate measured"),
                        ("lost", "Lost frames"), ("calibration", "Calibration")):
            sf.addRow(text, self.status_labels[k])

        # per-corner check
        corner = QGroupBox("Corner check — press on each corner in turn")
        grid = QGridLayout(corner)
        self.corner_bars: list[QProgressBar] = []
        self.corner_done: list[bool] = [False] * 4
        for i, name in enumerate(CHANNEL_NAMES):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setFormat(f"{CHANNEL_SHORT[i]} %p %")
            self.corner_bars.append(bar)
            grid.addWidget(bar, i // 2, i % 2)
        self.corner_prompt = big_label("Press on the front-left corner", 18)
        grid.addWidget(self.corner_prompt, 2, 0, 1, 2)

        # calibration wizard
        wiz = QGroupBox("Calibration")
        wl = QVBoxLayout(wiz)
        self.wizard_prompt = big_label(f"{first_step().prompt} Then press Tare.", 18, bold=False)
        self.mass = QDoubleSpinBox()
        self.mass.setRange(*MASS_RANGE_KG)
        self.mass.setValue(DEFAULT_MASS_KG)
        self.mass.setSuffix(" kg")
        self.tare_button = QPushButton("Tare (board empty)")
        self.tare_button.clicked.connect(self.start_tare)
        self.place_button = QPushButton("Record mass on mark 1")
        self.place_button.setEnabled(False)
        self.place_button.clicked.connect(self.start_placement)
        self.save_button = QPushButton("Save calibration")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_calibration)
        self.wizard_bar = QProgressBar()
        self.wizard_bar.setRange(0, 100)
        form = QFormLayout()
        form.addRow("Known mass", self.mass)
        wl.addWidget(self.wizard_prompt)
        wl.addLayout(form)
        brow = QHBoxLayout()
        for b in (self.tare_button, self.place_button, self.save_button):
            brow.addWidget(b)
        wl.addLayout(brow)
        wl.addWidget(self.wizard_bar)
        self.verify_plot = pg.PlotWidget(background=BG)
        self.verify_plot.setAspectLocked(True)
        self.verify_plot.setMinimumHeight(200)
        self.verify_plot.getPlotItem().setLabel("bottom", "x", units="mm")
        self.verify_plot.getPlotItem().setLabel("left", "y", units="mm")
        self._draw_marks()
        wl.addWidget(self.verify_plot, 1)

        left = QVBoxLayout()
        left.addWidget(conn)
        left.addWidget(stat)
        left.addWidget(corner)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addWidget(wiz, 1)
        ctx.session.frame.connect(self.on_frame)
        ctx.session.state_changed.connect(self.show_state)
        ctx.source_changed.connect(self._board_changed)

    # -- connect
    def activated(self) -> None:
        self.show_state(self.ctx.session.source.state if self.ctx.session.source else None)
        if self.ports.count() == 0:
            self.refresh_ports(probe=False)

    def refresh_ports(self, probe: bool = True) -> None:
        """List the serial ports on the worker (probing asks each one IDENTIFY: up to 1.5 s);
        the list fills in when it answers."""
        from stancelab.board.ports import list_ports

        if self._listing is not None:
            return
        self.ports.clear()
        self.ports.addItem("Simulated board", None)
        if probe:
            self.connect_message.setText("Looking for StanceLab boards…")
        self._set_busy(True)
        self._listing = self.ctx.worker.submit(list_ports, probe=bool(probe),
                                               on_done=self._show_ports,
                                               on_error=self._ports_failed, name="list ports")

    def _show_ports(self, found) -> None:
        self._listing = None
        self._set_busy(False)
        boards = 0
        for info in found:
            ident = getattr(info, "identity", None)
            text = info.device + (f" — StanceLab board {ident.board_id:08x}" if ident else
                                  f" — {info.description}")
            self.ports.addItem(text, info.device)
            if ident is not None:
                boards += 1
                if self.ports.currentIndex() == 0:
                    self.ports.setCurrentIndex(self.ports.count() - 1)
        if self.connect_message.text().startswith("Looking for"):
            self.connect_message.setText(f"{boards} StanceLab board{'s' * (boards != 1)} "
                                         f"found on {len(found)} serial port"
                                         f"{'s' * (len(found) != 1)}.")

    def _ports_failed(self, exc: Exception) -> None:   # port enumeration differs per OS
        self._listing = None
        self._set_busy(False)
        self.connect_message.setText(f"Could not list serial ports: {exc}")

    def _set_busy(self, busy: bool) -> None:
        busy = busy or self._listing is not None or self.ctx.connecting
        self.find_button.setEnabled(not busy)
        self.connect_button.setEnabled(not busy)

    def connect_selected(self) -> None:
        """Connect the chosen port (or the simulated board) on the worker: the handshake of a
        slow board takes seconds; the screen says so and stays live meanwhile."""
        device = self.ports.currentData()
        if device is None:
            make, name = self.ctx.simulated_board, "the simulated board"
        else:
            from stancelab.board.serial_board import SerialBoard

            make, name = (lambda: SerialBoard(device)), device
        if self.ctx.connect_in_background(
                make, on_done=lambda src: self._connected(src, name),
                on_error=self._connect_failed) is None:
            self.connect_message.setText("A board is being connected already…")
            return
        self.connect_message.setText(f"Connecting to {name}…")
        self._set_busy(True)

    def _connected(self, src, name: str) -> None:
        self._set_busy(False)
        self.connect_message.setText(f"Connected to {name}.")
        self.ctx.set_banner("Simulated board" if src.kind == "simulated" else None)

    def _connect_failed(self, exc: Exception) -> None:
        self._set_busy(False)
        self.connect_message.setText(str(exc) if isinstance(exc, SourceError) else
                                     f"Could not connect: {type(exc).__name__}: {exc}")

    def show_state(self, st) -> None:
        lab = self.status_labels
        if st is None:
            for v in lab.values():
                v.setText("—")
            lab["board"].setText("not connected")
            return
        lab["board"].setText(st.description + (f" (id {st.board_id:08x})"
                                               if st.board_id is not None else ""))
        lab["firmware"].setText(st.firmware or "—")
        lab["rate"].setText(f"{st.rate_sps:.1f} samples/s (nominal {st.nominal_rate_sps})")
        lab["lost"].setText(str(st.lost_frames))
        c = self.ctx.session.calibration
        lab["calibration"].setText(f"{c.method}, {c.created}")

    # -- live
    def on_frame(self, fr: LiveFrame) -> None:
        proc = self._proc
        if proc is not None and proc.recording:
            ended = proc.feed(fr.samples)
            self.wizard_bar.setValue(100 if ended else round(100 * proc.progress))
            if ended:
                self._step_ended()
        if not self.isVisible():
            return
        f = np.clip(fr.block.forces_n[-1], 0, None)
        total = f.sum()
        share = f / total if total > 20 else np.zeros(4)
        for i, bar in enumerate(self.corner_bars):
            bar.setValue(round(float(share[i]) * 100))
        if total > 20 and not all(self.corner_done):
            nxt = self.corner_done.index(False)
            if share[nxt] > 0.55:
                self.corner_done[nxt] = True
                self.corner_bars[nxt].setStyleSheet(f"QProgressBar::chunk {{ background: {OK}; }}")
            if all(self.corner_done):
                self.corner_prompt.setText("All four corners respond.")
            else:
                self.corner_prompt.setText(
                    f"Press on the {CHANNEL_NAMES[self.corner_done.index(False)]} corner")

    # -- calibration wizard: the steps, their wording and the verdict are the procedure's
    def start_tare(self) -> None:
        """Start a new calibration (any unfinished one is dropped) and record the tare."""
        if self.ctx.session.source is None:
            self.wizard_prompt.setText("Connect a board first.")
            return
        self._end_procedure()
        self.verdict = None
        self.show_verification(())
        try:
            self._proc = CalibrationProcedure(self.ctx.session.calibration, self.mass.value())
        except cal.CalibrationError as exc:
            self.wizard_prompt.setText(str(exc))
            return
        self._proc.begin()
        self._record()

    def start_placement(self) -> None:
        proc = self._proc
        if proc is not None and proc.running and proc.step is not None \
                and proc.step.kind == "mass" and not proc.recording:
            self._record()

    def _record(self) -> None:
        self._proc.ready()
        self.wizard_bar.setValue(0)
        self.wizard_prompt.setText(self._proc.step.while_recording)
        self._update_wizard()

    def _step_ended(self) -> None:
        proc = self._proc
        if proc.verdict is not None:
            self.verdict = proc.verdict
            self._end_procedure()
            self._show_verdict(self.verdict)
        else:
            step = proc.step
            press = "Tare" if step.kind == "tare" else f"“Record mass on mark {step.mark}”"
            first = step.problem[0].upper() + step.problem[1:] + "." if step.problem else \
                step.previous
            self.wizard_prompt.setText(f"{first}\n{step.prompt} Then press {press}."
                                       if first else f"{step.prompt} Then press {press}.")
        self._update_wizard()

    def _show_verdict(self, verdict: Verdict) -> None:
        self.show_verification(verdict.marks)
        self.wizard_prompt.setText(verdict.reason + (" Press Save to use it."
                                                     if verdict.accepted else ""))

    def _update_wizard(self) -> None:
        proc = self._proc
        running = proc is not None and proc.running
        step = proc.step if running else None
        if step is not None and step.kind == "mass":
            self.place_button.setText(f"Record mass on mark {step.mark}")
        self.place_button.setEnabled(step is not None and step.kind == "mass"
                                     and not proc.recording)
        tare_only = running and proc.can_finish_tare_only
        accepted = self.verdict is not None and self.verdict.accepted
        self.save_button.setEnabled(accepted or tare_only)
        self.save_button.setText("Save tare only" if tare_only and not accepted
                                 else "Save calibration")
        self.mass.setEnabled(not running)

    def _end_procedure(self) -> None:
        """The wizard's ``finally``: every path that leaves a procedure shuts it down."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.end()

    def _board_changed(self, _source) -> None:
        if self._proc is None and self.verdict is None:
            return
        self._end_procedure()
        self.verdict = None
        self.show_verification(())
        self.wizard_prompt.setText("The board changed: the calibration was stopped and nothing "
                                   f"was saved. {first_step().prompt} Then press Tare.")
        self._update_wizard()

    def save_calibration(self) -> None:
        """Save the accepted verdict (or, after the tare, a tare-only calibration)."""
        proc = self._proc
        if self.verdict is None and proc is not None and proc.can_finish_tare_only:
            self.verdict = proc.finish_tare_only()
            self._end_procedure()
        try:
            save_accepted(self.ctx.storage, self.verdict)
        except cal.CalibrationError as exc:
            self.wizard_prompt.setText(str(exc))
            return
        new = self.verdict.calibration
        self.ctx.session.calibration = new
        self.wizard_prompt.setText(f"Saved calibration {new.id} ({new.method}) for this board.")
        self.verdict = None
        self._update_wizard()
        self.show_state(self.ctx.session.source.state if self.ctx.session.source else None)

    def _draw_marks(self) -> None:
        pi = self.verify_plot.getPlotItem()
        geo = cal.BoardGeometry()
        w, d = geo.width_mm / 2, geo.depth_mm / 2
        pi.plot([-w, w, w, -w, -w], [-d, -d, d, d, -d], pen=pg.mkPen("#8a94a3", width=2))
        xs, ys = zip(*CALIBRATION_MARKS_MM)
        pi.plot(xs, ys, pen=None, symbol="+", symbolSize=14, symbolPen=pg.mkPen(ACCENT))
        for i, (x, y) in enumerate(CALIBRATION_MARKS_MM):
            t = pg.TextItem(str(i + 1), color=ACCENT, anchor=(0, 1))
            t.setPos(x + 8, y + 8)
            pi.addItem(t)

    def show_verification(self, marks: tuple[MarkCheck, ...]) -> None:
        """The error at each mark: green when the procedure's rule passes it, orange if not."""
        pi = self.verify_plot.getPlotItem()
        pi.clear()
        self._draw_marks()
        for m in marks:
            pi.plot([m.x_mm], [m.y_mm], pen=None, symbol="o", symbolSize=18,
                    symbolBrush=pg.mkBrush(OK if m.ok else WARN))
            t = pg.TextItem(f"{m.cop_error_mm:.1f} mm\n{m.load_error_pct:+.1f} %",
                            color="#ffffff", anchor=(0.5, -0.2))
            t.setPos(m.x_mm, m.y_mm)
            pi.addItem(t)

    def shutdown(self) -> None:
        self._end_procedure()

