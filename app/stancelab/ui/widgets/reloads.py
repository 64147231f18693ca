"""The one way screens that read the database stay current without reading it on every change."""

from __future__ import annotations

from stancelab.storage import StorageError


class ReloadsWhenShown:
    """Mixin (before QWidget) for a screen that shows what the database holds.

    A stored trial (``ctx.results_changed``) or another athlete (``ctx.athlete_changed``) marks
    the screen stale. A hidden screen does nothing more until it is shown (``showEvent``); a
    visible one refreshes at once. A refresh reads on the worker and draws on return; when
    refreshes overlap, the latest wins (an earlier one that comes back later is dropped).

    The screen defines ``load_request()``, which reads its widgets and the context on the UI
    thread and returns the arguments of ``load(*args)``, which reads the storage (no widgets: it
    runs on a worker thread) and returns what ``render(data, now)`` draws on the UI thread.
    ``reload()`` does all three on the calling thread when the screen is stale, for callers
    that need the content at once (the PDF report).
    A storage error while loading goes to ``load_failed(message)`` and the screen stays stale.
    """

    _stale = True
    _load_task = None
    _generation = 0

    def watch_results(self, ctx) -> None:
        ctx.results_changed.connect(self.mark_stale)
        ctx.athlete_changed.connect(self.mark_stale)

    def mark_stale(self, *_args) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    @property
    def stale(self) -> bool:
        return self._stale

    @property
    def loading(self) -> bool:
        """A refresh is on the worker; its result is not drawn yet."""
        return self._load_task is not None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Read in the worker, draw on return."""
        gen = self._begin()
        self._load_task = self.ctx.worker.submit(
            self.load, *self.load_request(), on_done=lambda data: self._loaded(gen, data),
            on_error=lambda exc: self._failed(gen, exc), name=f"{type(self).__name__}.load")

    def reload(self) -> None:
        """Make the content current now, on this thread: read and draw, unless nothing has
        changed since the last load was drawn. A refresh still on the worker is dropped."""
        if not self._stale and not self.loading and not self._busy():
            return
        self._begin()
        self.render(self.load(*self.load_request()), now=True)

    def _begin(self) -> int:
        self._stale = False
        self._generation += 1
        if self._load_task is not None:
            self._load_task.cancel()
            self._load_task = None
        return self._generation

    def _loaded(self, gen: int, data) -> None:
        if gen == self._generation:
            self._load_task = None
            self.render(data, now=False)

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._load_task = None
        if not isinstance(exc, StorageError):
            raise exc
        self._stale = True
        self.load_failed(str(exc))

    # -- defined by the screen
    def load_request(self) -> tuple:
        return ()

    def load(self, *args):
        raise NotImplementedError

    def render(self, data, now: bool) -> None:
        """``now``: called by :meth:`reload`, which promises the whole content on return."""
        raise NotImplementedError

    def load_failed(self, message: str) -> None:
        raise NotImplementedError

    def _busy(self) -> bool:
        """More of the content is still on the worker (Results: the picked trial)."""
        return False
