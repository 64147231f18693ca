"""StanceLab: balance-board biofeedback for runners and their coaches."""

__version__ = "0.1.0"
