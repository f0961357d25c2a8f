"""genrerec: genre classification, track embeddings and playlists from your music library.

    >>> from genrerec import load_model, Recommender
    >>> load_model().classify("song.mp3")              # {'jazz': 0.71, 'blues': 0.12, ...}
    >>> Recommender.open("~/Music").recommend(["~/Music/a.mp3"], n=10, temperature=0.5)
"""

from .audio.decode import AudioError, load_audio, read_windows
from .audio.features import FeatureConfig, log_mel_spectrogram
from .engine.index import index_library
from .errors import LibraryError
from .models.checkpoint import CheckpointError, load_checkpoint
from .models.inference import GenreModel, TrackEmbedding, load_model
from .recommend.recommender import Recommender
from .recommend.results import Recommendation, RecommendError
from .version import __version__  # noqa: F401  (genrerec.__version__)

__all__ = [
    "AudioError", "CheckpointError", "FeatureConfig", "GenreModel", "LibraryError", "Recommendation",
    "RecommendError", "Recommender", "TrackEmbedding", "index_library", "load_audio", "load_checkpoint",
    "load_model", "log_mel_spectrogram", "read_windows",
]
