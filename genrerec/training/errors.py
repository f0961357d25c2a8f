"""The training room's user error, importable without torch (the CLI maps it to a one-line message)."""


class DataError(Exception):
    """The data folder or split file is not usable; the message says how to fix it."""
