"""`python -m genrerec`: the same as the `genrerec` command."""

from .cli import app

app(prog_name="genrerec")
