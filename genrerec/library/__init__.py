"""library: a music library on disk: scanning files, the SQLite catalog, track vectors and
the FAISS index, the lock, duplicates, artist/title names. May import: audio, models."""
