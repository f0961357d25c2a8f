"""web: `genrerec serve`, a local web app over an indexed library.
May import every room up to playlists; the command line imports it.

A map of the library (one point per track), audio in the browser, and a
playlist builder with a temperature slider, over a JSON API under /api/.
Needs the `web` extra (FastAPI + uvicorn); plain HTML/CSS/JS ship in static/.
"""

from .server import ServeConfig, ServeError, running, serve

__all__ = ["ServeConfig", "ServeError", "running", "serve"]
