"""The coach's report: an A4 PDF made from the assessment model, for print.

- :mod:`.content` what the report shows, read from the database through
  ``station.assessment`` (the model) plus the header facts and the traces the plots need.
- :mod:`.text` the words and number formats (shared with the test that reads the PDF back).
- :mod:`.charts` the plots, drawn on a matplotlib Axes.
- :mod:`.pdf` the page layout, the PDF and the PNGs, written atomically.

Why matplotlib's PDF backend (and not Qt's QPdfWriter in the UI): the output is vector with
real text, it runs headless with no display and no Qt, so the same code serves
``stancelab report`` on a server and the app's Export button (on its worker thread), and the
report can sit below the UI in the layers (pyproject.toml's import-linter contract), where it
can never reach for a widget. The plots are drawn for the page, never grabbed from a screen,
so the file is the same whichever screens were opened.
"""

from stancelab.report.content import ReportContent, ReportError, gather, parse_date
from stancelab.report.pdf import write_pngs, write_report

__all__ = ["ReportContent", "ReportError", "gather", "parse_date", "write_pngs",
           "write_report"]
