"""recommend: playlists from a listening history: the Recommender, tastes, the rules of a
draw, song paths, listen exports. May import: audio, models, library, engine."""
