"""The package version (read by pipeline provenance and the command line)."""

__version__ = "0.1.0"
