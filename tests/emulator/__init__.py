"""Firmware emulator test support: build, run the simavr harness, check what the host saw."""
