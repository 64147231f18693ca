"""Drawing pieces shared by the screens, one module per role:

- :mod:`.common`: colours, the big label, the progress ring
- :mod:`.board_canvas`: the board seen from above with the COP and its trail
- :mod:`.load_strip`: total and corner loads over the last seconds
- :mod:`.reloads`: the ReloadsWhenShown mixin of the screens that read the database

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
