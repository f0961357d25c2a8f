"""One readable training loop (nanoGPT-style): segment training on random
crops with SpecAugment, gain and mixup; clip-level validation by averaging
window predictions; best checkpoint kept; resumable after an interrupt."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio.features import FeatureConfig, frame_windows
from ..models.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from ..models.registry import ModelDims, build_model, count_parameters
from ..utils import atomic_path, atomic_write_json, progress, seed_everything
from .config import TrainConfig
from .data import Clip, DataError, SpecCache, genres_of, load_specs, load_split, make_split, save_split, scan_genre_tree
from .finetune import FrozenFeatures, musicnn_start, trainable_groups

log = logging.getLogger("genrerec")


def augment(x: torch.Tensor, cfg: TrainConfig, gen: torch.Generator, std_db: float) -> torch.Tensor:
    """Gain and SpecAugment masks on a batch [B, M, T] of standardised log-mels."""
    B, M, T = x.shape
    x = x + (torch.rand(B, 1, 1, generator=gen) * 2 - 1) * cfg.gain_db / std_db
    if cfg.freq_shift:
        shifts = torch.randint(-cfg.freq_shift, cfg.freq_shift + 1, (B,), generator=gen)
        idx = (torch.arange(M)[None] - shifts[:, None]).clamp(0, M - 1)  # edge bins repeat
        x = torch.gather(x, 1, idx[:, :, None].expand(B, M, T))
    fill = x.mean()
    for _ in range(cfg.freq_masks):
        w = torch.randint(0, cfg.freq_mask_width + 1, (B,), generator=gen)
        s = (torch.rand(B, generator=gen) * (M - w)).long()
        idx = torch.arange(M)
        mask = (idx[None] >= s[:, None]) & (idx[None] < (s + w)[:, None])
        x = x.masked_fill(mask[:, :, None], float(fill))
    for _ in range(cfg.time_masks):
        w = torch.randint(0, cfg.time_mask_width + 1, (B,), generator=gen)
        s = (torch.rand(B, generator=gen) * (T - w)).long()
        idx = torch.arange(T)
        mask = (idx[None] >= s[:, None]) & (idx[None] < (s + w)[:, None])
        x = x.masked_fill(mask[:, None, :], float(fill))
    return x


def random_crops(specs: list[torch.Tensor], labels: list[int], n_frames: int, per_clip: int,
                 gen: torch.Generator, stretch: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """per_clip random windows from each clip; with stretch > 0 each window is
    cut at a random length around n_frames and resampled to n_frames."""
    xs, ys = [], []
    for spec, y in zip(specs, labels):
        T = spec.shape[-1]
        for _ in range(per_clip):
            n = n_frames
            if stretch:
                n = int(round(n_frames * (1 + (float(torch.rand(1, generator=gen)) * 2 - 1) * stretch)))
            if T <= n:
                crop = F.pad(spec, (0, n - T))
            else:
                s = int(torch.randint(0, T - n + 1, (1,), generator=gen))
                crop = spec[:, s:s + n]
            if n != n_frames:
                crop = F.interpolate(crop[None], size=n_frames, mode="linear", align_corners=False)[0]
            xs.append(crop)
            ys.append(y)
    return torch.stack(xs), torch.tensor(ys)


@torch.no_grad()
def clip_probabilities(model: torch.nn.Module, specs: list[torch.Tensor], n_frames: int, hop_frames: int,
                       batch_size: int = 64) -> np.ndarray:
    """Clip-level genre probabilities: the mean of window softmaxes over each whole clip."""
    model.eval()
    out = []
    for spec in specs:
        wins = frame_windows(spec, n_frames, hop_frames)
        probs = torch.cat([model(wins[i:i + batch_size]).softmax(-1) for i in range(0, len(wins), batch_size)])
        out.append(probs.mean(0).numpy())
    return np.stack(out) if out else np.zeros((0, 0))


def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def prepare_split(data_dir: str | os.PathLike, split_path: str | os.PathLike | None, out_dir: Path,
                  seed: int) -> tuple[list[Clip], dict[str, str]]:
    """Use the given split file, or make a block split and save it in out_dir."""
    clips = scan_genre_tree(data_dir)
    if split_path:
        split = load_split(split_path, clips)
    else:
        split = make_split(clips, "blocks", seed=seed)
        save_split(split, out_dir / "split.json", method="blocks", seed=seed, data=str(data_dir))
    return clips, split


def _load_resume_state(last: Path) -> dict:
    """A run folder's last.pt, loaded with weights_only=True: tensors and plain
    containers only, so a planted file cannot run code. One-line error otherwise."""
    try:
        ck = torch.load(last, map_location="cpu", weights_only=True)
    except Exception as e:  # garbage, truncated, or a pickle that needs code: never fall back to full unpickling
        raise CheckpointError(f"{last}: not a genrerec training state (unreadable or holds code: "
                              f"{type(e).__name__}); move it away to start the run over") from None
    if not isinstance(ck, dict) or not {"model", "opt", "gen", "torch_rng", "state"} <= ck.keys():
        raise CheckpointError(f"{last}: not a genrerec training state; move it away to start the run over")
    return ck


def train(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    cfg: TrainConfig = TrainConfig(),
    split_path: str | os.PathLike | None = None,
    features: FeatureConfig = FeatureConfig(),
    cache_dir: str | os.PathLike | None = None,
    show_progress: bool = True,
) -> dict:
    """Train a genre classifier; returns the run summary (also in out_dir/summary.json).

    out_dir receives: config.json, split.json (unless one was given), last.pt
    (resume state, rewritten every epoch), best.pt (the checkpoint to use),
    history.json. Re-running with the same out_dir resumes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    init = musicnn_start(cfg) if cfg.model == "musicnn" else None
    if init is not None:
        features = init.features  # the pretrained front end fixes the features
    run_config = {"train": asdict(cfg), "features": features.to_dict(), "data": str(data_dir),
                  "split": str(split_path) if split_path else None}
    cfg_file = out / "config.json"
    if cfg_file.exists() and (out / "last.pt").exists():
        old = json.loads(cfg_file.read_text())
        free = ("epochs", "patience", "threads")  # may change on resume (e.g. to train longer)
        old_train = {**asdict(TrainConfig()), **old["train"]}  # settings added since then: their defaults
        same = {k: v for k, v in old_train.items() if k not in free} == {
            k: v for k, v in run_config["train"].items() if k not in free}
        if not same or old["features"] != run_config["features"]:
            raise DataError(f"{out} holds a run with different settings; use a new --out folder to start afresh")
    atomic_write_json(cfg_file, run_config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)

    if split_path is None and (out / "split.json").exists():
        split_path = out / "split.json"  # resuming: keep the split we made
    clips, split = prepare_split(data_dir, split_path, out, cfg.seed)
    genres = genres_of(clips)
    cache = SpecCache(features, cache_dir)
    sets = {}
    for name in ("train", "val"):
        chosen = [c for c in clips if split.get(c.key) == name]
        specs, kept = load_specs(chosen, cache, show_progress)
        sets[name] = (specs, [genres.index(c.genre) for c in kept])
    if not sets["train"][0]:
        raise DataError("no training clips: check the data folder and split file")

    dims = ModelDims(cfg.model, len(genres), features.n_mels, features.window_frames)
    extra = {"imagenet_weights": cfg.imagenet_weights or None} if cfg.model == "resnet18" else {}
    model = build_model(dims, **extra)
    if init is not None:
        model.load_state_dict({**model.state_dict(), **{k: v for k, v in init.state_dict.items()
                                                       if not k.startswith("head.")}})
    opt = torch.optim.AdamW(trainable_groups(model, cfg), weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = math.ceil(len(sets["train"][0]) * cfg.crops_per_clip / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    state = {"epoch": 0, "step": 0, "best": None, "best_epoch": -1, "history": [], "stopped": False, "seconds": 0.0}

    last = out / "last.pt"
    if last.exists():
        ck = _load_resume_state(last)
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            gen.set_state(ck["gen"])
            torch.set_rng_state(ck["torch_rng"])
            state = {**state, **ck["state"]}
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{last}: cannot resume from it (it does not fit this run: "
                                  f"{type(e).__name__}); move it away to start the run over") from None
        log.info("resuming %s at epoch %d", out, state["epoch"])

    hop_frames = int(round(cfg.eval_hop_s * features.sample_rate / features.hop_length))
    n_frames = features.window_frames
    std_db = features.norm_std
    tr_specs, tr_labels = sets["train"]
    va_specs, va_labels = sets["val"]
    frozen = FrozenFeatures.for_config(model, cfg, features, cache_dir, init)  # None: train on spectrograms
    if frozen is not None:  # head/backend: the frozen part runs once per window, not once per epoch
        tr_specs = frozen.windows(tr_specs, show_progress)
        va_specs = frozen.windows(va_specs, show_progress)
    t_start = time.time() - state["seconds"]

    def save_best(metrics: dict) -> None:
        provenance = {"init": init.train_config} if init is not None else {}
        save_checkpoint(Checkpoint(dims, genres, features, model.state_dict(), metrics,
                                   {**asdict(cfg), "data": str(data_dir), **provenance},
                                   tags=list(init.tags) if init is not None else []), out / "best.pt")

    with progress(disable=not show_progress) as bar:
        task = bar.add_task(f"train {cfg.model}", total=cfg.epochs, completed=state["epoch"], info="")
        while state["epoch"] < cfg.epochs and not state["stopped"]:
            model.train()
            if frozen is not None:
                x_all, y_all = frozen.sample(tr_specs, tr_labels, cfg.crops_per_clip, gen)
            else:
                x_all, y_all = random_crops(tr_specs, tr_labels, n_frames, cfg.crops_per_clip, gen,
                                            cfg.time_stretch)
            perm = torch.randperm(len(x_all), generator=gen)
            tot_loss, n_seen = 0.0, 0
            for i in range(0, len(perm), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                if len(idx) < 2:
                    continue
                x = x_all[idx] if frozen is not None else augment(x_all[idx], cfg, gen, std_db)
                y = F.one_hot(y_all[idx], len(genres)).float()
                if cfg.mixup_alpha > 0:
                    lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen))).beta(
                        cfg.mixup_alpha, cfg.mixup_alpha))
                    lam = max(lam, 1 - lam)
                    j = torch.randperm(len(idx), generator=gen)
                    x, y = lam * x + (1 - lam) * x[j], lam * y + (1 - lam) * y[j]
                if cfg.label_smoothing:
                    y = y * (1 - cfg.label_smoothing) + cfg.label_smoothing / len(genres)
                for g in opt.param_groups:
                    g["lr"] = _lr_at(state["step"], total_steps, cfg.warmup_epochs * steps_per_epoch, g["base_lr"])
                logits = frozen.forward(x) if frozen is not None else model(x)
                loss = torch.sum(-y * F.log_softmax(logits, -1), -1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                state["step"] += 1
                tot_loss += loss.item() * len(idx)
                n_seen += len(idx)
            state["epoch"] += 1
            row = {"epoch": state["epoch"], "train_loss": tot_loss / max(1, n_seen),
                   "seconds": round(time.time() - t_start, 1)}
            if va_specs:
                probs = (frozen.clip_probabilities(va_specs) if frozen is not None
                         else clip_probabilities(model, va_specs, n_frames, hop_frames))
                yv = np.array(va_labels)
                row["val_acc"] = float((probs.argmax(1) == yv).mean())
                row["val_loss"] = float(-np.log(np.clip(probs[np.arange(len(yv)), yv], 1e-8, 1)).mean())
                score = (row["val_acc"], -row["val_loss"])
                if state["best"] is None or score > tuple(state["best"]):
                    state["best"], state["best_epoch"] = list(score), state["epoch"]
                    save_best({"val_clip_accuracy": row["val_acc"], "val_loss": row["val_loss"],
                               "epoch": state["epoch"]})
                elif state["epoch"] - state["best_epoch"] >= cfg.patience:
                    state["stopped"] = True
            else:  # no validation clips: keep the last epoch
                state["best_epoch"] = state["epoch"]
                save_best({"epoch": state["epoch"], "train_loss": row["train_loss"]})
            state["history"].append(row)
            state["seconds"] = time.time() - t_start
            with atomic_path(last) as tmp:
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                            "torch_rng": torch.get_rng_state(), "state": state}, tmp)
            info = f"loss {row['train_loss']:.3f}" + (f" val acc {row['val_acc']:.2f}" if "val_acc" in row else "")
            bar.update(task, completed=state["epoch"], info=info)

    summary = {"model": cfg.model, "parameters": count_parameters(model), "epochs_run": state["epoch"],
               "best_epoch": state["best_epoch"], "early_stopped": state["stopped"],
               "best_val": state["best"], "train_clips": len(tr_specs), "val_clips": len(va_specs),
               "seconds": round(state["seconds"], 1), "checkpoint": str(out / "best.pt")}
    atomic_write_json(out / "history.json", state["history"])
    atomic_write_json(out / "summary.json", summary)
    return summary
