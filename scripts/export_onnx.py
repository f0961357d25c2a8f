"""Export a MusiCNN genrerec checkpoint's inference graph to ONNX, with a JSON sidecar.

    python scripts/export_onnx.py                      # the shipped v2 model, into genrerec/assets/
    python scripts/export_onnx.py CKPT.pt --out X.onnx # any MusiCNN checkpoint

Needs the train install (torch) plus `onnx` (pinned in constraints.txt); the runtime
needs only `onnxruntime`. Reproducible: the same checkpoint and pinned versions give
the same graph (no randomness; the graph is checked against torch on fixed input
before it is written, and the test tests/models/test_onnx.py checks it again).

The graph maps log-mel windows [B, 96, T] (FeatureConfig.musicnn()) to
(genre softmax [B, G], embedding [B, 200], tag sigmoids [B, 50], pooled mid-level
features [B, 1506]: what the v3 space standardises) and is rewritten for inference:
- max over frequency before ReLU + batch norm (as the torch inference path does), with
  the sign folded into the conv: for a channel whose batch-norm scale is negative the
  conv's weights are negated so that one ReduceMax gives the min (no ReduceMin, no Where);
- the batch norms after those maxes become per-channel Mul + Add on [B, C, T];
- the pooled batch norm is folded into the dense layer (exact: nothing pads between them);
- constant folding at export and ORT's offline optimisation (level "extended") saved in
  the file, so loading does not redo it.

The sidecar (same name, .json) holds what the runtime needs without torch: genres, tag
names, feature config, the checkpoint's model id (so catalogs built with torch stay
valid), provenance and the licence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genrerec.models.checkpoint import load_checkpoint  # noqa: E402
from genrerec.models.inference import default_model_path  # noqa: E402
from genrerec.utils import atomic_path  # noqa: E402

OPSET = 17
CHECK_TOL = 1e-4  # ORT vs torch on random log-mels before the file is written
LICENCE = ("MusiCNN architecture and MSD weights: Copyright (c) Music Technology Group, Universitat Pompeu Fabra "
           "2019, ISC licence (genrerec/assets/LICENSE-musicnn.txt); genre head trained by genrerec (MIT).")


def _bn_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch norm at inference as y = a * x + b (per channel)."""
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return a, bn.bias - a * bn.running_mean


class _FrontBranch(nn.Module):
    """conv -> max over freq -> ReLU -> BN, with the min/max choice folded into the conv's sign."""

    def __init__(self, branch: nn.Module):
        super().__init__()
        a, b = _bn_affine(branch.bn)
        sign = torch.where(a >= 0, 1.0, -1.0)
        self.time_pad = branch.time_pad
        self.conv = nn.Conv2d(branch.conv.in_channels, branch.conv.out_channels, branch.conv.kernel_size)
        with torch.no_grad():
            self.conv.weight.copy_(branch.conv.weight * sign[:, None, None, None])
            self.conv.bias.copy_(branch.conv.bias * sign)
        self.register_buffer("sign", sign[None, :, None])
        self.register_buffer("a", a[None, :, None])
        self.register_buffer("b", b[None, :, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(nn.functional.pad(x, (0, 0, *self.time_pad))).amax(dim=3)  # max of sign*conv = sign*(max|min)
        return torch.relu(y * self.sign) * self.a + self.b


class InferenceGraph(nn.Module):
    """log-mels [B, 96, T] -> (genre softmax, embedding, tag sigmoids, pooled), rewritten for inference."""

    def __init__(self, net: nn.Module):
        super().__init__()
        net = net.eval()
        self.net = net
        a, b = _bn_affine(net.bn_in)
        self.register_buffer("in_a", a.reshape(()))
        self.register_buffer("in_b", b.reshape(()))
        self.front = nn.ModuleList([_FrontBranch(m) for m in (*net.timbral, *net.temporal)])
        pa, pb = _bn_affine(net.pool_bn)
        self.dense = nn.Linear(net.dense.in_features, net.dense.out_features)
        with torch.no_grad():  # dense(a * x + b) = (W * a) x + (W b + c)
            self.dense.weight.copy_(net.dense.weight * pa[None, :])
            self.dense.bias.copy_(net.dense.bias + net.dense.weight @ pb)

    def forward(self, x: torch.Tensor):
        net = self.net
        x = (x.transpose(1, 2).unsqueeze(1)) * self.in_a + self.in_b  # [B,1,T,F]
        h = torch.cat([b(x) for b in self.front], dim=1)
        feats = [h]
        for i, (conv, bn) in enumerate(zip(net.mid, net.mid_bn)):
            y = bn(torch.relu(conv(feats[-1])))
            feats.append(y if i == 0 else y + feats[-1])
        h = torch.cat(feats, dim=1)
        pooled = torch.stack([h.amax(dim=2), h.mean(dim=2)], dim=2).flatten(1)
        e = net.dense_bn(torch.relu(self.dense(pooled)))
        return net.head(e).softmax(-1), e, torch.sigmoid(net.tag_head(e)), pooled


OUTPUTS = ["genres", "embedding", "tags", "pooled"]


def _reference(net: nn.Module, x: torch.Tensor):
    with torch.no_grad():
        p = net.pooled(x)
        e = net.backend(p)
        return net.classify(e).softmax(-1).numpy(), e.numpy(), torch.sigmoid(net.tags(e)).numpy(), p.numpy()


def export(ckpt_path: Path, out: Path) -> dict:
    import onnx
    import onnxruntime as ort

    ckpt = load_checkpoint(ckpt_path)
    if ckpt.dims.kind != "musicnn":
        raise SystemExit(f"{ckpt_path}: a {ckpt.dims.kind} checkpoint; only MusiCNN models are exported")
    net = ckpt.build()
    graph = InferenceGraph(net).eval()
    cfg = ckpt.features
    x = torch.randn(4, cfg.n_mels, cfg.window_frames, generator=torch.Generator().manual_seed(0)).abs() * 2
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "raw.onnx"
        with torch.no_grad():
            torch.onnx.export(graph, (x,), str(raw), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                              input_names=["logmel"], output_names=OUTPUTS,
                              dynamic_axes={"logmel": {0: "batch"}, **{o: {0: "batch"} for o in OUTPUTS}})
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # portable across CPUs
        so.optimized_model_filepath = str(Path(td) / "opt.onnx")
        so.intra_op_num_threads = 1
        ort.InferenceSession(str(raw), so, providers=["CPUExecutionProvider"])
        model = onnx.load(so.optimized_model_filepath)
    model.producer_name, model.doc_string = "genrerec scripts/export_onnx.py", LICENCE
    data = model.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"logmel": x.numpy()})
    for name, r, g in zip(OUTPUTS, _reference(net, x), got):
        err = float(np.abs(r - g).max()) / (1.0 if name != "pooled" else max(1.0, float(np.abs(r).max())))
        if err > CHECK_TOL:
            raise SystemExit(f"exported graph disagrees with torch on {name}: max abs error {err:.2e}")
    meta = {
        "format": "genrerec-onnx", "format_version": 1,
        "model_id": ckpt.model_id(), "kind": ckpt.dims.kind, "genres": list(ckpt.genres), "tags": list(ckpt.tags),
        "embed_dim": int(net.embed_dim), "features": ckpt.features.to_dict(),
        "inputs": {"logmel": ["batch", cfg.n_mels, "frames"]}, "outputs": OUTPUTS,
        "provenance": {
            "checkpoint": ckpt_path.name, "checkpoint_sha256": hashlib.sha256(ckpt_path.read_bytes()).hexdigest(),
            "onnx_sha256": hashlib.sha256(data).hexdigest(), "command": "python scripts/export_onnx.py",
            "torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__, "opset": OPSET,
            "rewrites": ["max over frequency before ReLU/BN (sign folded into the conv)", "BN after max as Mul+Add",
                         "pool BN folded into dense", "constant folding", "ORT extended offline optimisation"],
            "genrerec_version": ckpt.version,
        },
        "licence": LICENCE,
    }
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(data)
    with atomic_path(out.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", type=Path, default=default_model_path())
    ap.add_argument("--out", type=Path, help="default: the checkpoint's path with .onnx")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    out = args.out or args.checkpoint.with_suffix(".onnx")
    meta = export(args.checkpoint, out)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB) and {out.with_suffix('.json').name}: "
          f"model id {meta['model_id']}")


if __name__ == "__main__":
    main()
