"""Data files shipped with the signals (loaded with :mod:`importlib.resources`)."""
