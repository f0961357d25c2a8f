"""genrerec: genre classification, track embeddings and playlists from your music library.

    >>> from genrerec import load_model, Recommender
    >>> load_model().classify("song.mp3")              # {'jazz': 0.71, 'blues': 0.12, ...}
    >>> Recommender.open("~/Music").recommend(["~/Music/a.mp3"], n=10, temperature=0.5)
"""

__version__ = "0.1.0"

from .audio import AudioError, load_audio, read_windows  # noqa: E402
from .checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from .embed import GenreModel, TrackEmbedding, load_model  # noqa: E402
from .features import FeatureConfig, log_mel_spectrogram  # noqa: E402
from .index import LibraryError, index_library  # noqa: E402
from .recommend import Recommendation, RecommendError, Recommender  # noqa: E402

__all__ = [
    "AudioError", "CheckpointError", "FeatureConfig", "GenreModel", "LibraryError", "Recommendation",
    "RecommendError", "Recommender", "TrackEmbedding", "index_library", "load_audio", "load_checkpoint",
    "load_model", "log_mel_spectrogram", "read_windows",
]
