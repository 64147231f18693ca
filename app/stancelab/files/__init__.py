"""Files StanceLab writes and reads back: the raw and summary CSV, and plain COP traces.

Named ``files`` rather than ``csv`` (which would shadow the standard library's module inside
the package) or ``io``: it is the layer of the data that leaves the program as files, next to
``storage`` (the database), and pyproject.toml's layer contract names it so. By role:

- :mod:`.csv_format` the raw CSV format itself: header keys, columns and units, escaping of
  text cells, reading the header, CsvFormatError. No storage, no UI.
- :mod:`.csv_bytes` fixed-decimal fields parsed and formatted on whole numpy arrays.
- :mod:`.csv_parse` the fast, multi-threaded raw CSV reader with its size and row limits.
- :mod:`.csv_write` writing raw and summary CSV atomically; safe file names.
- :mod:`.transfer` export of a session from the Storage and import of a raw CSV into it: the
  only module here that imports :mod:`stancelab.storage`.
- :mod:`.cop_trace` the plain ``t, x, y`` trace that ``stancelab analyze`` also reads.

This file imports none of them, so reading a CSV (station/replay.py) never loads the database.
"""
