"""media: catalog tracks as bytes for players: opening them safely and transcoding what a
player cannot play, within bounds. May import: rooms up to playlists; web and subsonic use it."""
