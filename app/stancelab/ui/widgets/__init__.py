"""Drawing pieces shared by the screens, one module per role:

- :mod:`.common`: colours, the big label, the progress ring
- :mod:`.board_canvas`: the board seen from above with the COP and its trail
- :mod:`.load_strip`: total and corner loads over the last seconds
- :mod:`.reloads`: the ReloadsWhenShown mixin of the screens that read the database
- :mod:`.progress_plots`: headline scores across sessions per leg, with the MDC95 band
  (import it from its module: only the Compare screen uses it)

``from stancelab.ui.widgets import X`` works for each of them.
"""

from stancelab.ui.widgets.board_canvas import BoardCanvas, Trail, cache_static
from stancelab.ui.widgets.common import (
    ACCENT,
    BG,
    CORNER_COLOURS,
    FG,
    OK,
    WARN,
    ProgressRing,
    big_label,
)
from stancelab.ui.widgets.load_strip import LoadStrip
from stancelab.ui.widgets.reloads import ReloadsWhenShown

__all__ = ["ACCENT", "BG", "CORNER_COLOURS", "FG", "OK", "WARN", "BoardCanvas", "LoadStrip",
           "ProgressRing", "ReloadsWhenShown", "Trail", "big_label", "cache_static"]
