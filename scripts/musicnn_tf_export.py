"""Step 1 of the MusiCNN conversion; runs in a throwaway TensorFlow venv (see
scripts/convert_musicnn.sh), never at genrerec run time.

Reads a TF1 checkpoint from the unpacked `musicnn` wheel, and writes
  - OUT/<model>.npz: every trained variable (Adam slots dropped), and
  - OUT/<model>-reference.npz: a fixed input (librosa log-mels of synthetic
    signals, computed exactly as the musicnn authors did, without the float16
    cast) with the TF graph's own penultimate layer, mean/max pools and tag
    probabilities for it.
The graph is built with the wheel's own models.py, so the reference is the
authors' network, not a re-implementation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SR, HOP, NFFT, NMELS, FRAMES = 16000, 256, 512, 96, 187


def synth(seed: int, seconds: float = 3.0) -> np.ndarray:
    """Deterministic test signal (the same formula lives in tests/models/test_musicnn.py)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110 * 2 ** (rng.integers(0, 24, 4) / 12)
    x = sum(0.2 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * (i + 1) * t)) for i, f in enumerate(f0))
    clicks = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(float) * rng.standard_normal(t.size) * 0.3
    return (x + clicks + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--wheel-dir", required=True, help="unpacked musicnn wheel (holds musicnn/models.py)")
    ap.add_argument("--model", default="MSD_musicnn", choices=["MSD_musicnn", "MTT_musicnn"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sys.path.insert(0, args.wheel_dir)

    import librosa
    import tensorflow as tf
    from musicnn import models  # the authors' graph definition
    from tensorflow.python.training import py_checkpoint_reader

    prefix = str(Path(args.wheel_dir) / "musicnn" / args.model) + "/"  # files are '.index', '.data-*'
    reader = py_checkpoint_reader.NewCheckpointReader(prefix)
    names = [n for n in reader.get_variable_to_shape_map() if "Adam" not in n and "power" not in n]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"{args.model}.npz", **{n: reader.get_tensor(n) for n in names})

    specs = []
    for seed in (0, 1):
        mel = librosa.feature.melspectrogram(y=synth(seed), sr=SR, hop_length=HOP, n_fft=NFFT, n_mels=NMELS,
                                             pad_mode="reflect").T
        specs.append(np.log10(10000 * mel + 1)[:FRAMES])
    x_in = np.stack(specs).astype(np.float32)

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    x = tf.compat.v1.placeholder(tf.float32, [None, FRAMES, NMELS])
    is_training = tf.compat.v1.placeholder(tf.bool)
    y, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(x, is_training, args.model, 50)
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, prefix)  # fails loudly, unlike the wheel's extractor
        tags, pen, mp, xp = sess.run([tf.nn.sigmoid(y), penultimate, mean_pool, max_pool],
                                     feed_dict={x: x_in, is_training: False})
    np.savez(out / f"{args.model}-reference.npz", input=x_in, penultimate=pen, tags=tags, mean_pool=mp,
             max_pool=xp, librosa_version=np.array(librosa.__version__), tf_version=np.array(tf.__version__))
    print(f"wrote {out / args.model}.npz ({len(names)} variables) and the reference outputs")


if __name__ == "__main__":
    main()
