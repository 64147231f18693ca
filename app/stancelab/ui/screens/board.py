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
from stancelab.ui.session import LiveFrame
from stancelab.ui.widgets import ACCENT, BG, OK, WARN, big_label

#: Where the known mass goes during gain calibration: the centre and four marks near the cells.
CAL_MARKS_MM = ((0.0, 0.0), (-150.0, 100.0), (150.0, 100.0), (-150.0, -100.0), (150.0, -100.0))
RECORD_S = 2.0


class Recorder:
    """Collects raw counts from live frames for a fixed span of device time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.chunks: list[np.ndarray] = []
        self.t0: float | None = None
        self.t_last = 0.0

    def add(self, fr: LiveFrame) -> bool:
        """Add a frame; True once the span is complete."""
        if self.t0 is None:
            self.t0 = float(fr.block.t_s[0])
        self.chunks.append(fr.block.counts)
        self.t_last = float(fr.block.t_s[-1])
        return self.t_last - self.t0 >= self.seconds

    def counts(self) -> np.ndarray:
        return np.vstack(self.chunks) if self.chunks else np.zeros((0, 4))


class BoardScreen(QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._recorder: Recorder | None = None
        self._recording_for: str | None = None
        self._placements: list[cal.Placement] = []
        self._pending: cal.Calibration | None = None

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
        self.wizard_prompt = big_label("1. Step off the board, then Tare.", 18, bold=False)
        self.mass = QDoubleSpinBox()
        self.mass.setRange(1.0, 150.0)
        self.mass.setValue(20.0)
        self.mass.setSuffix(" kg")
        self.tare_button = QPushButton("Tare (board empty)")
        self.tare_button.clicked.connect(self.start_tare)
        self.place_button = QPushButton("Record mass on mark 1")
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
        if self._recorder is not None:
            done = self._recorder.add(fr)
            span = self._recorder.t_last - (self._recorder.t0 or 0.0)
            self.wizard_bar.setValue(int(100 * min(span / self._recorder.seconds, 1.0)))
            if done:
                self._finish_recording()
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

    # -- calibration wizard
    def start_tare(self) -> None:
        self._begin("tare", "Recording the empty board… keep off it.")

    def start_placement(self) -> None:
        k = len(self._placements)
        x, y = CAL_MARKS_MM[k]
        self._begin("placement", f"Recording {self.mass.value():.1f} kg at mark {k + 1} "
                                 f"({x:+.0f}, {y:+.0f}) mm… keep still.")

    def _begin(self, what: str, prompt: str) -> None:
        if self.ctx.session.source is None:
            self.wizard_prompt.setText("Connect a board first.")
            return
        self._recorder = Recorder(RECORD_S)
        self._recording_for = what
        self.wizard_prompt.setText(prompt)

    def _finish_recording(self) -> None:
        counts = self._recorder.counts()
        what = self._recording_for
        self._recorder = None
        self._recording_for = None
        try:
            if what == "tare":
                self._pending = cal.tare(self.ctx.session.calibration, counts)
                self._placements = []
                self.save_button.setEnabled(True)
                self.wizard_prompt.setText(
                    "Tare done. 2. Put the known mass on mark 1 (centre) and press "
                    "“Record mass on mark 1”, or save now for a tare-only calibration.")
            else:
                x, y = CAL_MARKS_MM[len(self._placements)]
                self._placements.append(cal.Placement(self.mass.value(), x, y,
                                                      tuple(counts.mean(axis=0))))
                k = len(self._placements)
                if k < len(CAL_MARKS_MM):
                    self.place_button.setText(f"Record mass on mark {k + 1}")
                    nx, ny = CAL_MARKS_MM[k]
                    self.wizard_prompt.setText(f"Move the mass to mark {k + 1} "
                                               f"({nx:+.0f}, {ny:+.0f}) mm and record.")
                else:
                    self._fit()
        except cal.CalibrationError as exc:
            self.wizard_prompt.setText(str(exc))

    def _fit(self) -> None:
        base = self._pending or self.ctx.session.calibration
        fit = cal.fit_gains(base, self._placements)
        self._pending = fit.calibration
        self.place_button.setText("Record mass on mark 1")
        self._placements = []
        worst = max(v["cop_error_mm"] for v in fit.verification)
        self.wizard_prompt.setText(f"Gains fitted: worst COP error {worst:.1f} mm, force "
                                   f"residual {fit.residual_n:.1f} N. Save to use it.")
        self.show_verification(fit.verification)
        self.save_button.setEnabled(True)

    def save_calibration(self) -> None:
        if self._pending is None:
            return
        cal.save(self._pending)
        self.ctx.session.calibration = self._pending
        self.wizard_prompt.setText(f"Saved calibration {self._pending.id} ({self._pending.method}).")
        self._pending = None
        self.save_button.setEnabled(False)
        self.show_state(self.ctx.session.source.state if self.ctx.session.source else None)

    def _draw_marks(self) -> None:
        pi = self.verify_plot.getPlotItem()
        geo = cal.BoardGeometry()
        w, d = geo.width_mm / 2, geo.depth_mm / 2
        pi.plot([-w, w, w, -w, -w], [-d, -d, d, d, -d], pen=pg.mkPen("#8a94a3", width=2))
        xs, ys = zip(*CAL_MARKS_MM)
        pi.plot(xs, ys, pen=None, symbol="+", symbolSize=14, symbolPen=pg.mkPen(ACCENT))
        for i, (x, y) in enumerate(CAL_MARKS_MM):
            t = pg.TextItem(str(i + 1), color=ACCENT, anchor=(0, 1))
            t.setPos(x + 8, y + 8)
            pi.addItem(t)

    def show_verification(self, verification: list[dict]) -> None:
        """COP error at each mark: green when within 5 mm, orange otherwise."""
        pi = self.verify_plot.getPlotItem()
        pi.clear()
        self._draw_marks()
        for v in verification:
            good = v["cop_error_mm"] <= 5.0
            pi.plot([v["x_mm"]], [v["y_mm"]], pen=None, symbol="o", symbolSize=18,
                    symbolBrush=pg.mkBrush(OK if good else WARN))
            t = pg.TextItem(f"{v['cop_error_mm']:.1f} mm\n{v['load_error_pct']:+.1f} %",
                            color="#ffffff", anchor=(0.5, -0.2))
            t.setPos(v["x_mm"], v["y_mm"])
            pi.addItem(t)

    def shutdown(self) -> None:
        self._recorder = None

