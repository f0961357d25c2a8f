"""demo: `make demo` (main.py) and the free Debian game soundtracks it fetches (freemusic.py).
May import every room below the command line; nothing imports it."""
