"""The shipped ONNX graph: the same numbers as the torch model, chosen by default, never stale."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genrerec.models.checkpoint import CheckpointError, load_checkpoint
from genrerec.models.inference import default_model_path, load_model
from genrerec.models.onnx_runtime import matching_onnx, read_sidecar

pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-4


def _specs(n: int = 6, seed: int = 0) -> np.ndarray:
    """Seeded log10(1 + 10000 mel)-like input: non-negative, in MusiCNN's usual range."""
    rng = np.random.default_rng(seed)
    return (rng.gamma(2.0, 0.8, size=(n, 96, 187))).astype(np.float32)


def test_shipped_onnx_is_exported_from_the_shipped_checkpoint():
    ckpt = default_model_path()
    onnx_path = matching_onnx(ckpt)
    assert onnx_path == ckpt.with_suffix(".onnx")
    meta = read_sidecar(onnx_path)
    c = load_checkpoint(ckpt)
    assert meta["model_id"] == c.model_id()  # catalogs built with torch stay valid
    assert meta["genres"] == c.genres and meta["tags"] == c.tags and meta["features"] == c.features.to_dict()
    assert meta["provenance"]["onnx_sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert "ISC" in meta["licence"]


def test_onnx_and_torch_agree_on_fixed_input():
    ort_m, torch_m = load_model(runtime="onnx"), load_model(runtime="torch")
    assert (ort_m.runtime_name, torch_m.runtime_name) == ("onnx", "torch")
    x = _specs()
    for name, a, b in zip(("genres", "embedding", "tags"), ort_m.infer_windows(x), torch_m.infer_windows(x)):
        assert a.shape == b.shape, name
        assert np.abs(a - b).max() < TOL, name
    # batching must not change a window's outputs
    one = np.concatenate([ort_m.infer_windows(x[i:i + 1])[1] for i in range(len(x))])
    assert np.abs(one - ort_m.infer_windows(x)[1]).max() < TOL


def test_default_runtime_and_overrides(monkeypatch):
    assert load_model().runtime_name == "onnx"
    assert load_model("v2").runtime_name == "onnx"
    monkeypatch.setenv("GENREREC_RUNTIME", "torch")
    assert load_model().runtime_name == "torch"
    assert load_model(runtime="onnx").runtime_name == "onnx"  # the argument wins over the environment
    monkeypatch.setenv("GENREREC_RUNTIME", "bogus")
    with pytest.raises(ValueError, match="runtime"):
        load_model()


def test_v1_has_no_onnx_and_runs_on_torch():
    assert load_model("v1").runtime_name == "torch"
    with pytest.raises(CheckpointError, match="ONNX Runtime"):
        load_model("v1", runtime="onnx")


def test_stale_onnx_beside_a_changed_checkpoint_is_not_used(tmp_path):
    src = default_model_path()
    for suffix in (".pt", ".onnx", ".json"):
        shutil.copy(src.with_suffix(suffix), tmp_path / f"m{suffix}")
    assert load_model(tmp_path / "m.pt").runtime_name == "onnx"
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["provenance"]["checkpoint_sha256"] = "0" * 64  # as if the .pt had been retrained since the export
    (tmp_path / "m.json").write_text(json.dumps(meta))
    assert load_model(tmp_path / "m.pt").runtime_name == "torch"
    with pytest.raises(CheckpointError, match="up-to-date"):
        load_model(tmp_path / "m.pt", runtime="onnx")


def test_an_onnx_file_loads_directly_and_pickles_without_its_session():
    m = load_model(default_model_path().with_suffix(".onnx"))
    x = _specs(2, seed=1)
    before = m.infer_windows(x)
    back = pickle.loads(pickle.dumps(m))
    assert back.runtime._session is None  # made again in the process that uses it
    for a, b in zip(before, back.infer_windows(x)):
        assert np.array_equal(a, b)


def test_export_is_reproducible(tmp_path):
    """The export rebuilds the shipped graph: the same nodes, the same initializers to float
    rounding (folding batch norm into constants rounds by the CPU's vector width: the last
    bit differs between machines), and the same bytes when run twice on one machine."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    outs = [tmp_path / "a.onnx", tmp_path / "b.onnx"]
    for out in outs:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "export_onnx.py"), "--out", str(out)], check=True,
                       capture_output=True)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    made, shipped = onnx.load(str(outs[0])), onnx.load(str(default_model_path().with_suffix(".onnx")))
    assert [(n.op_type, list(n.input), list(n.output)) for n in made.graph.node] == \
        [(n.op_type, list(n.input), list(n.output)) for n in shipped.graph.node]
    assert made.metadata_props == shipped.metadata_props
    a = {i.name: numpy_helper.to_array(i) for i in made.graph.initializer}
    b = {i.name: numpy_helper.to_array(i) for i in shipped.graph.initializer}
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].shape == b[name].shape and a[name].dtype == b[name].dtype, name
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_pooled_output_and_v3_vectors_agree_across_runtimes():
    """The graph's pooled mid-level features (what the v3 space standardises) match torch, and so do
    whole v3 track vectors and genre calls built from them."""
    ort_m, torch_m = load_model("v3", runtime="onnx"), load_model("v3", runtime="torch")
    assert ort_m.model_id == torch_m.model_id and ort_m.model_id != load_model("v2").model_id
    x = _specs(8, seed=3)
    a, b = ort_m.runtime.infer(x, pooled=True), torch_m.runtime.infer(x, pooled=True)
    assert a[3].shape == b[3].shape == (8, 1506)
    assert np.abs(a[3] - b[3]).max() < TOL * max(1.0, float(np.abs(b[3]).max()))
    ta, tb = ort_m.encode_windows([(x, 24.0)])[0], torch_m.encode_windows([(x, 24.0)])[0]
    assert ta.embedding.shape == (ort_m.embed_dim,) and float(ta.embedding @ tb.embedding) > 0.9999
    assert np.abs(ta.genres - tb.genres).max() < 1e-3 and ta.label == tb.label
    assert ta.features.dtype == np.float16 and ta.features.shape == (1706,)
