"""The docs stay in sync with the code."""

from pathlib import Path

from genrerec._docgen import api_reference, cli_reference

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current():
    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference(), "run `make docs` to regenerate docs/cli.md"


def test_api_reference_is_current():
    assert (ROOT / "docs" / "api.md").read_text() == api_reference(), "run `make docs` to regenerate docs/api.md"


def test_readme_commands_exist():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
    make = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in make and "\ntest:" in make
    assert "make test" in (ROOT / ".ci" / "run").read_text()
