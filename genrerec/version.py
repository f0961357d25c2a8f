"""The package version, in one place (checkpoints and the web app record it)."""

__version__ = "0.1.0"
