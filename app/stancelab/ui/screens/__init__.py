"""Screens of the desktop app, one module each; they talk to the context, never to each other."""
