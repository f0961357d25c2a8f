"""The docs stay in sync with the code."""

from pathlib import Path

from genrerec.cli.docgen import api_reference, cli_reference

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


def _summary_module():
    import importlib
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("summary")


def test_benchmark_summary_is_current():
    summary = _summary_module()
    docs = ROOT / "docs" / "benchmarks"
    assert (docs / "summary.md").read_text() == summary.render_summary(summary._load(docs)), (
        "run `python benchmarks/summary.py` to regenerate docs/benchmarks/summary.md")


def test_rerun_drift_separates_quality_from_timing():
    summary = _summary_module()
    old = {"rows": [{"method": "a", "precision@5": 0.6, "p50_ms": 8.0}, {"method": "b", "precision@5": 0.4}]}
    new = {"rows": [{"method": "a", "precision@5": 0.6, "p50_ms": 10.0}, {"method": "b", "precision@5": 0.45}]}
    d = summary.drift(old, new)
    assert d["quality"]["max_abs"] == 0.05 and d["quality"]["at"] == "rows[1: b].precision@5"
    assert d["quality"]["exactly_equal"] == 1
    assert d["timing"]["max_rel"] == 0.25
    assert summary.drift(old, old)["quality"]["max_abs"] == 0
    assert summary.drift(old, {"rows": []})["only_one_side"] == 3  # numbers a rerun lost are counted
