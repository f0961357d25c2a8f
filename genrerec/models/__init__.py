"""models: the networks (seed_cnn, cnn, resnet, musicnn), their checkpoints, and whole-track
inference (inference.py: `load_model`, `GenreModel`). May import: audio."""
