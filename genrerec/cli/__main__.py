"""`python -m genrerec.cli`."""

from . import app

app(prog_name="genrerec")
