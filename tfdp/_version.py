"""The version of tfdp, on its own so that any module can record it without
importing the package's public API (which imports the FiftyOne layer)."""

__version__ = "0.1.0"
