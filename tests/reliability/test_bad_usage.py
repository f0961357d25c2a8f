"""Bad API and CLI input: one clear line naming the problem, exit status 2, no traceback."""

import pytest
from typer.testing import CliRunner

from genrerec.cli.common import app
from genrerec.engine.index import index_library
from genrerec.recommend.recommender import Recommender
from genrerec.recommend.results import RecommendError
from tests.conftest import write_audio

runner = CliRunner()


@pytest.fixture
def indexed(library, tiny_model):
    index_library(library, model=tiny_model, workers=0, show_progress=False)
    return library


CLI_CASES = [
    ("unknown history track", ["recommend", "-H", "{tmp}/outside.wav", "--library", "{lib}"], "not in the library"),
    ("missing history file", ["recommend", "-H", "{lib}/nope.wav"], "no such file"),
    ("empty history playlist", ["recommend", "-H", "{tmp}/empty.m3u", "--library", "{lib}"], "history is empty"),
    ("n = 0", ["recommend", "-H", "{lib}/low/low0.wav", "-n", "0"], "--n must be at least 1"),
    ("n < 0", ["recommend", "-H", "{lib}/low/low0.wav", "-n", "-4"], "--n must be at least 1"),
    ("negative temperature", ["recommend", "-H", "{lib}/low/low0.wav", "-t", "-1"], "--temperature must be"),
    ("NaN temperature", ["recommend", "-H", "{lib}/low/low0.wav", "-t", "nan"], "--temperature must be"),
    ("infinite temperature", ["recommend", "-H", "{lib}/low/low0.wav", "-t", "inf"], "--temperature must be"),
    ("non-numeric n", ["recommend", "-H", "{lib}/low/low0.wav", "-n", "ten"], "not a valid integer"),
    ("similar: n = 0", ["similar", "{lib}/low/low0.wav", "-n", "0"], "--n must be at least 1"),
    ("similar: track outside any library", ["similar", "{tmp}/outside.wav"], "no genrerec library found"),
    ("stats on an unindexed folder", ["stats", "{tmp}"], "no genrerec library found"),
    ("index a missing folder", ["index", "{tmp}/missing"], "no such folder"),
    ("index a file, not a folder", ["index", "{tmp}/outside.wav"], "not a folder"),
    ("--db that does not exist", ["stats", "--db", "{tmp}/nodb"], "no such file or folder"),
    ("classify with a missing checkpoint", ["classify", "{tmp}/outside.wav", "--model", "{tmp}/none.pt"],
     "checkpoint not found"),
    ("train with an unknown model", ["train", "--data", "{tmp}", "--out", "{tmp}/r", "--model", "vgg"],
     "--model must be one of"),
    ("train on a missing data folder", ["train", "--data", "{tmp}/nodata", "--out", "{tmp}/r"], "data folder not found"),
    ("unknown command", ["recomend"], "No such command"),
]


@pytest.mark.parametrize("case,args,msg", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_user_errors(indexed, tmp_path, case, args, msg, record):
    write_audio(tmp_path / "outside.wav", "low", seconds=4)
    (tmp_path / "empty.m3u").write_text("#EXTM3U\n")
    args = [a.format(lib=indexed, tmp=tmp_path) for a in args]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert msg in r.output and "Traceback" not in r.output, r.output
    record(f"CLI: {case}", "exit 2: " + " ".join(l.strip(" │╭╰─") for l in r.output.splitlines() if l.strip(" │╭╰─")))


def test_api_user_errors(indexed, tmp_path, record):
    with Recommender.open(indexed) as rec:
        cases = {
            "empty history": dict(history=[]),
            "unknown track id": dict(history=[123456]),
            "history is one string": dict(history=str(indexed / "low" / "low0.wav")),
            "n = 0": dict(history=[indexed / "low" / "low0.wav"], n=0),
            "n = 2.5": dict(history=[indexed / "low" / "low0.wav"], n=2.5),
            "temperature = -0.1": dict(history=[indexed / "low" / "low0.wav"], temperature=-0.1),
            "temperature = inf": dict(history=[indexed / "low" / "low0.wav"], temperature=float("inf")),
            "negative play count": dict(history={indexed / "low" / "low0.wav": -2}),
            "all play counts zero": dict(history={indexed / "low" / "low0.wav": 0}),
        }
        for name, kw in cases.items():
            with pytest.raises(RecommendError) as ei:
                rec.recommend(**kw)
            record(f"API: {name}", f"RecommendError: {str(ei.value).splitlines()[0]}")
    from genrerec.errors import LibraryError

    with pytest.raises(LibraryError, match="no genrerec library found"):
        Recommender.open(tmp_path)
    record("API: Recommender.open on an unindexed folder", "LibraryError: no genrerec library found here or above")
