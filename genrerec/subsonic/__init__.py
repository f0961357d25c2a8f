"""subsonic: the Subsonic / OpenSubsonic API at /rest/, so any Subsonic client plays the
library and gets instant mixes from its sonic similarity (docs/subsonic.md).

Laid out like navidrome's server/subsonic: router.py (dispatch, parameters, auth, errors),
one module per API area (system, browsing, searching, retrieval, annotation, playlists,
sonic) over responses.py (shapes rendered as JSON or XML), auth.py (credentials, back-off)
and users.py (the user store, kept beside the catalog so it survives a rebuild).
May import: audio, models, training, library, engine, recommend, playlists, media, and the
shared top-level modules. Imported by web (which mounts the router) and cli (`genrerec user`).
"""
