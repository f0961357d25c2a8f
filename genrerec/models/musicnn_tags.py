"""The tag vocabularies of the pretrained MusiCNN heads, in numpy-free Python (the light install reads them)."""

MSD_TAGS = ['rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
            'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock', 'soul',
            'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill', 'instrumental', 'punk', 'oldies',
            'blues', 'hard rock', 'ambient', 'acoustic', 'experimental', 'female vocalist', 'guitar', 'Hip-Hop',
            '70s', 'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk', 'electro', 'heavy metal',
            'Progressive rock', '60s', 'rnb', 'indie pop', 'sad', 'House', 'happy']
MTT_TAGS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast', 'piano',
            'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male', 'singing', 'vocals',
            'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman', 'male vocal', 'no vocal', 'pop', 'soft',
            'sitar', 'solo', 'man', 'classic', 'choir', 'voice', 'new age', 'dance', 'male voice', 'female vocal',
            'beats', 'harp', 'cello', 'no voice', 'weird', 'country', 'metal', 'female voice', 'choral']

# v3's one readable vocabulary: MSD's 50 tags and MTT's 50 (MTT's scored from MSD's features by the space's
# MTT head, docs/benchmarks/v3_mtt_tags.md), each name once; a name's score is the highest of its sources'.
# (name, MSD tags, MTT tags); synonyms within a head and across the two share one name.
MERGED_TAGS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("rock", ("rock",), ("rock",)), ("pop", ("pop",), ("pop",)), ("alternative", ("alternative",), ()),
    ("indie", ("indie",), ()), ("electronic", ("electronic",), ("electronic",)),
    ("female vocals", ("female vocalists", "female vocalist"), ("female", "woman", "female vocal", "female voice")),
    ("dance", ("dance",), ("dance",)), ("00s", ("00s",), ()), ("alternative rock", ("alternative rock",), ()),
    ("jazz", ("jazz",), ()), ("beautiful", ("beautiful",), ()), ("metal", ("metal",), ("metal",)),
    ("chillout", ("chillout",), ()), ("male vocals", ("male vocalists",), ("male", "man", "male vocal", "male voice")),
    ("classic rock", ("classic rock",), ()), ("soul", ("soul",), ()), ("indie rock", ("indie rock",), ()),
    ("mellow", ("Mellow",), ()), ("electronica", ("electronica",), ()), ("80s", ("80s",), ()),
    ("folk", ("folk",), ()), ("90s", ("90s",), ()), ("chill", ("chill",), ()),
    ("instrumental", ("instrumental",), ("no vocals", "no vocal", "no voice")), ("punk", ("punk",), ()),
    ("oldies", ("oldies",), ()), ("blues", ("blues",), ()), ("hard rock", ("hard rock",), ()),
    ("ambient", ("ambient",), ("ambient",)), ("acoustic", ("acoustic",), ()), ("experimental", ("experimental",), ()),
    ("guitar", ("guitar",), ("guitar",)), ("hip-hop", ("Hip-Hop",), ()), ("70s", ("70s",), ()),
    ("party", ("party",), ()), ("country", ("country",), ("country",)), ("easy listening", ("easy listening",), ()),
    ("sexy", ("sexy",), ()), ("catchy", ("catchy",), ()), ("funk", ("funk",), ()), ("electro", ("electro",), ()),
    ("heavy metal", ("heavy metal",), ()), ("progressive rock", ("Progressive rock",), ()), ("60s", ("60s",), ()),
    ("r&b", ("rnb",), ()), ("indie pop", ("indie pop",), ()), ("sad", ("sad",), ()), ("house", ("House",), ()),
    ("happy", ("happy",), ()),
    ("classical", (), ("classical", "classic")), ("vocals", (), ("vocal", "vocals", "singing", "voice")),
    ("choir", (), ("choir", "choral")), ("beats", (), ("beat", "beats")),
    *((t, (), (t,)) for t in ("slow", "techno", "strings", "drums", "fast", "piano", "violin", "synth", "indian",
                              "opera", "harpsichord", "loud", "quiet", "flute", "soft", "sitar", "solo", "new age",
                              "harp", "cello", "weird")),
]
MERGED_TAG_NAMES = [name for name, _, _ in MERGED_TAGS]
