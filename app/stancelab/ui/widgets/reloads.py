"""The one way screens that read the database stay current."""

from __future__ import annotations


class ReloadsWhenShown:
    """For screens that read the database: mark stale when results or the athlete change,
    reload at once if visible, otherwise when next shown (``activated``). The screen defines
    ``reload()`` and clears ``_needs_reload`` in it."""

    _needs_reload = True

    def watch_results(self, ctx) -> None:
        ctx.results_changed.connect(self._stale)
        ctx.athlete_changed.connect(lambda _athlete: self._stale())
        self._needs_reload = True

    def _stale(self) -> None:
        self._needs_reload = True
        if self.isVisible():
            self.reload()

    def activated(self) -> None:
        if self._needs_reload:
            self.reload()
