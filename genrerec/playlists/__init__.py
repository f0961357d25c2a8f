"""playlists: playlist files in and out (M3U/M3U8, XSPF, JSON) and listening histories read
from tracks, folders, playlists and exports. May import: rooms up to recommend."""
