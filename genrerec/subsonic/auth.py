"""Who is asking: the three ways a Subsonic client proves it, and a back-off for guessers.

  * token: u, t = md5(password + s), s (a fresh salt per request);
  * legacy: u, p = the password, plain or "enc:" + its UTF-8 bytes in hex;
  * apiKey (OpenSubsonic apiKeyAuthentication): apiKey alone, no u.

Wrong credentials are error 40 whatever was wrong (never "no such user", which
would tell a guesser which names exist). After FREE_FAILURES wrong tries from
one address for one user, further tries are refused without being checked for
BACKOFF_BASE_S * 2^(n - FREE_FAILURES) seconds (capped): a guesser gets a few
tries a minute instead of thousands a second. Refused, not slept: a waiting
request would hold a server thread. The clock is injectable for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib.parse import parse_qsl, urlencode

from .responses import (AUTH_MECHANISM_CONFLICT, INVALID_API_KEY, MISSING_PARAMETER, WRONG_CREDENTIALS,
                        SubsonicError)
from .users import UserStore

FREE_FAILURES = 3
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
MAX_TRACKED = 10_000  # (user, address) pairs remembered; the oldest are forgotten first
SECRET_PARAMS = ("p", "t", "s", "apiKey", "token")
NO_USERS = ("this server has no Subsonic user yet: run `genrerec user add NAME` on the server "
            "(with --library or --db for its library)")


def redact(url_or_query: str) -> str:
    """A URL or query string with every credential parameter replaced by '***' (for logs)."""
    base, sep, query = url_or_query.rpartition("?") if "?" in url_or_query else ("", "", url_or_query)
    pairs = [(k, "***" if k in SECRET_PARAMS else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return base + sep + urlencode(pairs, safe="*/:")


def _passwords(p: str) -> list[str]:
    """What a `p` parameter may mean: itself, or for "enc:<hex>" its bytes as UTF-8 (the spec) or as
    Latin-1 (clients that hex-encode each character's code point, as py-sonic and py-opensonic do)."""
    if not p.startswith("enc:"):
        return [p]
    try:
        raw = bytes.fromhex(p[4:])
    except ValueError:
        return []
    out = [raw.decode("latin-1")]
    try:
        out.insert(0, raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return out


@dataclass
class Backoff:
    """Counts wrong tries per (user, address) and says how long further ones are refused."""
    clock: Callable[[], float] = time.monotonic
    _fails: dict = field(default_factory=dict)  # key -> (count, time of last failure)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_left(self, key: tuple[str, str]) -> float:
        with self._lock:
            n, last = self._fails.get(key, (0, 0.0))
        if n < FREE_FAILURES:
            return 0.0
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (n - FREE_FAILURES))
        return max(0.0, last + delay - self.clock())

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            n, _ = self._fails.pop(key, (0, 0.0))
            self._fails[key] = (n + 1, self.clock())
            while len(self._fails) > MAX_TRACKED:
                self._fails.pop(next(iter(self._fails)))

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._fails.pop(key, None)


def authenticate(params: Mapping[str, str], store: UserStore, address: str, backoff: Backoff) -> str:
    """The user name the request proves, or a SubsonicError (10, 40, 43, 44)."""
    api_key = params.get("apiKey")
    user = params.get("u")
    if api_key is not None:
        if user is not None or "p" in params or "t" in params:
            raise SubsonicError(AUTH_MECHANISM_CONFLICT, "apiKey cannot be combined with u, p or t")
        key = ("", address)
        if (left := backoff.wait_left(key)) > 0:
            raise SubsonicError(INVALID_API_KEY, f"too many wrong API keys from this address; try again in "
                                                 f"{left:.0f} s")
        found = store.user_of_key(api_key)
        if found is None:
            backoff.failed(key)
            raise SubsonicError(INVALID_API_KEY, "invalid API key")
        backoff.succeeded(key)
        return found
    if not store.names():
        raise SubsonicError(WRONG_CREDENTIALS, NO_USERS)
    if user is None:
        raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: u (or apiKey)")
    if params.get("t") is None and params.get("p") is None:
        raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: t and s (or p, or apiKey)")
    key = (user, address)
    if (left := backoff.wait_left(key)) > 0:
        raise SubsonicError(WRONG_CREDENTIALS, f"too many wrong passwords; try again in {left:.0f} s")
    stored = store.password(user)
    ok = False
    if stored is not None:
        if params.get("t") is not None:
            salt = params.get("s")
            if not salt:
                raise SubsonicError(MISSING_PARAMETER, "required parameter is missing: s (the salt of t)")
            want = hashlib.md5((stored + salt).encode("utf-8")).hexdigest()
            ok = hmac.compare_digest(want, params["t"].lower())
        else:
            ok = any(hmac.compare_digest(stored.encode(), c.encode()) for c in _passwords(params["p"]))
    if not ok:
        backoff.failed(key)
        raise SubsonicError(WRONG_CREDENTIALS, "wrong username or password")
    backoff.succeeded(key)
    return user
