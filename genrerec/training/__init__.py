"""training: data splits and the spectrogram cache, the training loop, MusiCNN fine-tuning
and evaluation; only `genrerec train/split/evaluate` need it. May import: audio, models."""
