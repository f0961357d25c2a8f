"""How a track without tags is named on the web pages (issue 23, user's list: the app showed bare "track26")."""

from genrerec.library.names import short_name


def test_short_name_keeps_the_album_folder():
    assert short_name("runs/soundtracks/warzone2100-music/track26.opus") == "warzone2100-music/track26"
    assert short_name("track26.opus") == "track26"
