"""Exceptions every room shares: a library that cannot be indexed or opened, and why."""

from __future__ import annotations


class LibraryError(Exception):
    """A library cannot be indexed or opened; the message says what to do."""


class LibraryLocked(LibraryError):
    pass
