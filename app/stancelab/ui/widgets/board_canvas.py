"""The board seen from above (outline, cells, feet, targets, zone, reach polygon) and the COP
with its fading trail: stock QGraphicsItems painted in C++, moved a few at a time."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from stancelab.geometry import CHANNEL_SHORT, BoardGeometry, FootModel
from stancelab.ui.widgets.common import ACCENT, BG, FG, OK


class Trail:
    """The COP's recent path: a fixed ring of stock ellipse items (painted by Qt in C++). Every
    ``stride``-th sample moves the oldest dot to the newest position and nothing else changes,
    so a repaint touches dot-sized spots, not the whole trail.

    What it costs is mostly painting the dots the COP dot's repaint overlaps (a slow athlete's
    trail lies under the dot), every sample: so the trail has few dots (stride 3: 8 dots over
    0.3 s at 80 samples/s), and, being context rather than feedback (the COP dot is), it is
    placed ``batch`` dots at a time (at 80 samples/s, stride 3 and batch 2: about 13 times a
    second, at most 5 samples behind the dot). The fade by age is refreshed only every
    ``fade_every``-th dot (about 7 Hz), so the trail still fades toward its tail without
    restyling every dot at the stream rate. See docs/benchmarks.md for what each step saved."""

    def __init__(self, scene: QGraphicsScene, samples: int, stride: int = 3,
                 radius_mm: float = 4.0, alpha: int = 160, fade_every: int = 4,
                 batch: int = 2) -> None:
        self.stride = stride
        self.fade_every = fade_every
        self.batch = batch
        self._pending: list[tuple[float, float]] = []   # dots not placed yet, oldest first
        self._placed = 0
        n = max(1, samples // stride)
        brush = QBrush(QColor(255, 212, 0, alpha))
        pen = QPen(Qt.PenStyle.NoPen)
        self.dots = []
        for _ in range(n):
            dot = QGraphicsEllipseItem(-radius_mm, -radius_mm, 2 * radius_mm, 2 * radius_mm)
            dot.setPen(pen)
            dot.setBrush(brush)
            dot.setZValue(9)
            dot.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            dot.setVisible(False)
            scene.addItem(dot)
            self.dots.append(dot)
        self._shown = [False] * n
        self._next = 0          # ring slot the next dot goes to
        self._phase = 0         # samples since the last dot

    def add(self, x_mm, y_mm) -> None:
        """Feed the newest samples (oldest first; NaN where nobody stood on the board)."""
        n = len(x_mm)
        # The samples that get a dot: every stride-th one, counted across calls.
        first = (self.stride - 1 - self._phase) % self.stride
        self._phase = (self._phase + n) % self.stride
        if first >= n:
            return
        pending = self._pending
        for i in range(first, n, self.stride):
            pending.append((float(x_mm[i]), float(y_mm[i])))
        if len(pending) >= self.batch:
            self._pending = []
            self._place(pending[-len(self.dots):])

    def _place(self, dots) -> None:
        for x, y in dots:
            k = self._next
            self._next = (k + 1) % len(self.dots)
            dot = self.dots[k]
            if math.isnan(x):
                if self._shown[k]:
                    dot.setVisible(False)
                    self._shown[k] = False
            else:
                dot.setPos(x, y)
                if dot.opacity() != 1.0:
                    dot.setOpacity(1.0)   # the newest dot is opaque at once
                if not self._shown[k]:
                    dot.setVisible(True)
                    self._shown[k] = True
            self._placed += 1
            if self._placed % self.fade_every == 0:
                self._fade()

    def _fade(self) -> None:
        """Opacity by age: the newest dot opaque, the oldest faint."""
        n = len(self.dots)
        for age in range(n):
            dot = self.dots[(self._next - 1 - age) % n]
            opacity = round(1.0 - 0.85 * age / max(n - 1, 1), 2)
            if dot.opacity() != opacity:
                dot.setOpacity(opacity)

    def clear(self) -> None:
        self._pending = []
        for k, dot in enumerate(self.dots):
            if self._shown[k]:
                dot.setVisible(False)
                self._shown[k] = False


def cache_static(items) -> None:
    """Paint items that rarely change once into a pixmap; repaints of the COP then blit them."""
    for it in items:
        it.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _path(poly: np.ndarray, close: bool = True) -> QPainterPath:
    path = QPainterPath()
    path.moveTo(float(poly[0, 0]), float(poly[0, 1]))
    for x, y in poly[1:]:
        path.lineTo(float(x), float(y))
    if close:
        path.closeSubpath()
    return path


class BoardCanvas(QGraphicsView):
    """The board seen from above in board millimetres: outline, cells, foot, targets, COP.

    A plain QGraphicsScene with stock items (painted in C++), not a pyqtgraph plot: the COP
    moves 80 times a second and every Python-side boundingRect/paint call on the way to the
    screen shows up in the CPU budget. Only the trail and the COP dot paint in Python."""

    TRAIL = 24  # samples (0.3 s at 80 Hz): short enough to read as motion, not as clutter

    def __init__(self, geometry: BoardGeometry | None = None, parent=None) -> None:
        scene = QGraphicsScene()
        super().__init__(scene, parent)
        scene.setParent(self)
        self.geometry = geometry or BoardGeometry()
        self.setBackgroundBrush(QBrush(QColor(BG)))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        # The view paints every pixel it exposes (background brush): telling Qt so, a moved
        # dot repaints the viewport alone, not also the widgets under it (three paint events
        # per sample instead of one, the parents drawing their style sheet's background).
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        w, d = self.geometry.width_mm / 2, self.geometry.depth_mm / 2
        grey = QColor("#8a94a3")
        board = scene.addRect(QRectF(-w, -d, 2 * w, 2 * d), _pen(grey, 3))
        cells = []
        for (x, y), name in zip(self.geometry.cells_mm, CHANNEL_SHORT):
            cells.append(scene.addRect(QRectF(x - 7, y - 7, 14, 14), QPen(Qt.PenStyle.NoPen),
                                       QBrush(QColor("#3a4350"))))
            cells.append(self._text(name, x, y + (24 if y > 0 else -24), grey, 10, False))
        self._feet: list = []
        self._target_items: list = []
        self._zone = QGraphicsEllipseItem(0, 0, 1, 1)
        self._zone.setVisible(False)
        self._zone.setZValue(5)
        scene.addItem(self._zone)
        self._reached = False
        self._reach = scene.addPath(QPainterPath(), _pen(QColor(OK), 3))
        self._reach.setZValue(6)
        self._trail = Trail(scene, self.TRAIL)
        r = 9.0
        self.cop = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        self.cop.setBrush(QBrush(QColor(ACCENT)))
        self.cop.setPen(_pen(QColor("#000000"), 1))
        self.cop.setZValue(10)
        # The dots are rendered once into pixmaps that Qt blits where they move (a repaint
        # costs about an eighth less than rasterising an antialiased ellipse each time).
        self.cop.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.cop.setVisible(False)
        scene.addItem(self.cop)
        self._cop_shown = False
        self._cop_px: tuple[int, int] | None = None   # device pixel of the dot's corner
        self._device = None                           # see _to_device
        #: host arrival time of the newest sample the COP dot shows (to the pixel)
        self.cop_t_host_s: float | None = None
        #: ... and of the newest one that moved it, which the latency probe measures: a
        #: sample that leaves the dot on its pixel changes nothing on the screen
        self._moved_t_host_s: float | None = None
        self._paint_hook = None
        self._probe = None
        cache_static([board, *cells])
        self._span = (2 * w + 40, 2 * d + 40)
        self._box: QRectF | None = None
        scene.setSceneRect(QRectF(-w - 400, -d - 400, 2 * w + 800, 2 * d + 800))
        self.scale(1, -1)  # +y (toes) up on the screen

    def _text(self, s: str, x: float, y: float, colour: QColor, pt: int, bold: bool):
        item = QGraphicsSimpleTextItem(s)
        f = QFont()
        f.setPointSize(pt)
        f.setBold(bold)
        item.setFont(f)
        item.setBrush(QBrush(colour))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        r = item.boundingRect()
        item.setPos(x, y)
        item.setTransformOriginPoint(r.center())
        # Centre the label on (x, y): shift by half its size in device pixels.
        item.setTransform(QTransform.fromTranslate(-r.width() / 2, -r.height() / 2))
        self.scene().addItem(item)
        return item

    # -- view
    def zoom_to(self, span_mm: float) -> None:
        """Show a square of ``span_mm`` around the board centre (a foot fills the screen)."""
        self._span = (span_mm, span_mm)
        self._box = None
        self._fit()

    def zoom_to_box(self, x0_mm: float, y0_mm: float, x1_mm: float, y1_mm: float) -> None:
        """Show this rectangle of the board as large as the widget allows (the athlete view:
        the foot and its targets fill the height)."""
        self._box = QRectF(x0_mm, y0_mm, x1_mm - x0_mm, y1_mm - y0_mm)
        self._fit()

    def _fit(self) -> None:
        self._device, self._cop_px = None, None   # the mapping changes: place the dot anew
        if self._box is not None:
            self.fitInView(self._box, Qt.AspectRatioMode.KeepAspectRatio)
            return
        sw, sh = self._span
        self.fitInView(QRectF(-sw / 2, -sh / 2, sw, sh), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    # -- scene content
    def set_feet(self, outlines) -> None:
        """Draw foot outlines, each an (N, 2) polygon in board mm."""
        for it in self._feet:
            self.scene().removeItem(it)
        self._feet = []
        for o in outlines:
            it = self.scene().addPath(_path(np.asarray(o)), _pen(QColor("#c9d1d9"), 3),
                                      QBrush(QColor(255, 255, 255, 28)))
            it.setZValue(1)
            cache_static([it])
            self._feet.append(it)

    def set_foot(self, foot: FootModel | None, centre_mm=(0.0, 0.0)) -> None:
        self.set_feet([] if foot is None else [foot.outline() + np.asarray(centre_mm)])

    def set_targets(self, targets) -> None:
        """``targets``: (hour, x_mm, y_mm) triples, or empty to hide."""
        for it in self._target_items:
            self.scene().removeItem(it)
        self._target_items = []
        for hour, x, y in targets or []:
            dot = self.scene().addEllipse(QRectF(x - 7, y - 7, 14, 14), _pen(QColor("#8a94a3"), 1),
                                          QBrush(QColor("#3d4654")))
            dot.setZValue(2)
            r = math.hypot(x, y) or 1.0
            lab = self._text(str(hour), x + 20 * x / r, y + 20 * y / r, QColor(FG), 12, True)
            cache_static([dot, lab])
            self._target_items += [dot, lab]

    def set_zone(self, x_mm: float | None, y_mm: float = 0.0, radius_mm: float = 0.0,
                 reached: bool = False) -> None:
        if x_mm is None:
            self._zone.setVisible(False)
            return
        self._zone.setRect(x_mm - radius_mm, y_mm - radius_mm, 2 * radius_mm, 2 * radius_mm)
        self._reached = not reached
        self.set_zone_reached(reached, force=True)
        self._zone.setVisible(True)

    def set_zone_reached(self, reached: bool, force: bool = False) -> None:
        """Turn the active zone green while the COP holds inside it."""
        if reached != self._reached and (force or self._zone.isVisible()):
            self._reached = reached
            colour = QColor(OK if reached else ACCENT)
            self._zone.setPen(_pen(colour, 2))
            colour.setAlpha(90)
            self._zone.setBrush(QBrush(colour))

    def set_reach_polygon(self, xy_mm) -> None:
        if xy_mm is None or len(xy_mm) == 0:
            self._reach.setPath(QPainterPath())
        else:
            self._reach.setPath(_path(np.asarray(xy_mm, dtype=float)))

    # -- live
    def _to_device(self) -> tuple[float, float, float, float, float, float]:
        """The view's scene -> viewport mapping (scale and shift per axis, the view only
        scales, flips and scrolls) and the corner of the COP dot's bounds that lands at its
        pixmap's top-left, cached until the view is fitted again."""
        t = self._device
        if t is None:
            vt = self.viewportTransform()
            br = self.cop.boundingRect()
            t = self._device = (vt.m11(), vt.m22(), vt.dx(), vt.dy(), br.left(),
                                br.bottom() if vt.m22() < 0 else br.top())
        return t

    def show_cop(self, x_mm: np.ndarray, y_mm: np.ndarray, t_host_s: float | None = None) -> None:
        """Append the newest COP samples to the trail and move the dot to the last one.

        The dot is a cached pixmap that Qt draws at whole device pixels (its bounds' top-left
        rounded). It is placed so that corner falls exactly on the pixel Qt would round to,
        and a sample that lands on the pixel the dot already occupies moves nothing: no pixel
        would change, so nothing is repainted. Quiet stance moves the COP a fraction of a
        pixel per sample, so about a third of the repaints at 80 samples/s were of an
        unchanged picture (bench/bench_live.py)."""
        self._trail.add(x_mm, y_mm)
        x, y = float(x_mm[-1]), float(y_mm[-1])
        t_host = None if t_host_s is None or math.isnan(t_host_s) else t_host_s
        if math.isnan(x):   # nobody on the board
            if self._cop_shown:
                self.cop.setVisible(False)
                self._cop_shown = False
                self._cop_px = None
            return
        m11, m22, dx, dy, bx, by = self._to_device()
        # The nearest pixel to the bounds' device corner (a tie goes either way: the corner is
        # then placed on a whole pixel, which Qt draws where it is).
        px = (math.floor(m11 * (x + bx) + dx + 0.5), math.floor(m22 * (y + by) + dy + 0.5))
        self.cop_t_host_s = t_host
        if px != self._cop_px:
            self._cop_px = px
            self.cop.setPos((px[0] - dx) / m11 - bx, (px[1] - dy) / m22 - by)
            self._moved_t_host_s = t_host
        if not self._cop_shown:
            self.cop.setVisible(True)
            self._cop_shown = True

    def clear_cop(self) -> None:
        self._trail.clear()
        self.cop.setVisible(False)
        self._cop_shown = False
        self._cop_px = None

    @property
    def paint_hook(self):
        """callable(painted_s, host time of the sample the dot shows), run on each repaint
        that drew the COP dot, right after the dot: the latency probe of bench/bench_live.py,
        bench/bench_coldstart.py and the live view test. None (the app) costs nothing."""
        return self._paint_hook

    @paint_hook.setter
    def paint_hook(self, hook) -> None:
        self._paint_hook = hook
        if hook is not None and self._probe is None:
            self._probe = _PaintProbe(self)


class _PaintProbe(QGraphicsEllipseItem):
    """Invisible child of the COP dot with its shape, painted right after it: the latency
    probe. Installed only once a hook is set, so the app pays no Python call per repaint;
    only ``paint`` is Python (the bounds Qt asks for often stay in C++)."""

    def __init__(self, canvas: BoardCanvas) -> None:
        super().__init__(canvas.cop.rect(), canvas.cop)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self._canvas = canvas

    def paint(self, painter, option, widget=None) -> None:
        c = self._canvas
        hook = c._paint_hook
        if hook is not None and c._moved_t_host_s is not None:
            hook(time.monotonic(), c._moved_t_host_s)


def _pen(colour: QColor, width_px: float) -> QPen:
    """A cosmetic pen: its width is in screen pixels whatever the zoom."""
    pen = QPen(colour, width_px)
    pen.setCosmetic(True)
    return pen
