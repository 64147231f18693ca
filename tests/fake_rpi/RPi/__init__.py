# ruff: noqa: N999  (the real module is called RPi.GPIO)
"""A fake RPi package for tests: only RPi.GPIO, wired to the HX711 model in tests/hx711_model.py."""
