"""A classic content-based baseline: MFCC and spectral statistics (the kind of
hand-made features bliss-style tools use) with a linear or RBF-SVM classifier."""

from __future__ import annotations

import numpy as np
import torch

from genrerec.audio.decode import load_audio


def handcrafted_features(path, sr: int = 16000) -> np.ndarray:
    """Mean and std over time of 20 MFCCs, their deltas, spectral centroid,
    bandwidth, rolloff, flatness, zero-crossing rate and RMS (88 numbers)."""
    import torchaudio.functional as AF
    import torchaudio.transforms as T

    wav = torch.from_numpy(load_audio(path, sr, duration=600.0))
    mfcc = T.MFCC(sr, n_mfcc=20, melkwargs=dict(n_fft=1024, hop_length=320, n_mels=64, f_max=8000))(wav)
    delta = AF.compute_deltas(mfcc)
    spec = torch.stft(wav, 1024, 320, window=torch.hann_window(1024), return_complex=True).abs() + 1e-10
    freqs = torch.linspace(0, sr / 2, spec.shape[0])[:, None]
    p = spec / spec.sum(0, keepdim=True)
    centroid = (p * freqs).sum(0)
    bandwidth = ((p * (freqs - centroid) ** 2).sum(0)).sqrt()
    rolloff = freqs[(p.cumsum(0) < 0.85).sum(0).clamp(max=spec.shape[0] - 1), 0]
    flatness = torch.exp(torch.log(spec).mean(0)) / spec.mean(0)
    frames = wav[: len(wav) // 320 * 320].reshape(-1, 320)
    zcr = (frames[:, 1:] * frames[:, :-1] < 0).float().mean(1)
    rms = frames.pow(2).mean(1).sqrt()
    feats = [mfcc, delta] + [x[None] for x in (centroid / 1000, bandwidth / 1000, rolloff / 1000, flatness, zcr, rms)]
    return torch.cat([torch.cat([f.mean(-1), f.std(-1)]) for f in feats]).numpy()


def fit_predict(X_train, y_train, X_test, kind: str = "svm"):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    clf = SVC(C=10, gamma="scale", probability=True, random_state=0) if kind == "svm" else \
        LogisticRegression(C=1.0, max_iter=5000)
    model = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
    return model.predict(X_test), model.predict_proba(X_test)


def essentia_features(path) -> np.ndarray | None:
    """A real peer's descriptors: Essentia's MusicExtractor (low-level, rhythm and
    tonal statistics, all numeric values flattened). None if essentia is absent."""
    try:
        import essentia
        import essentia.standard as es
    except ImportError:
        return None
    essentia.log.infoActive = False
    essentia.log.warningActive = False
    feats, _ = es.MusicExtractor(lowlevelStats=["mean", "stdev"], rhythmStats=["mean", "stdev"],
                                 tonalStats=["mean", "stdev"])(str(path))
    out = []
    for name in sorted(feats.descriptorNames()):
        if name.split(".")[0] not in ("lowlevel", "rhythm", "tonal"):
            continue
        v = feats[name]
        if isinstance(v, np.ndarray) and not name.endswith((".mean", ".stdev")):
            continue  # per-frame/per-beat lists vary in length; keep the fixed-size statistics
        if isinstance(v, (int, float)):
            out.append(float(v))
        elif isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.ndim == 1:
            out.extend(v.astype(float).tolist())
    x = np.array(out)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
