"""System: ping, getLicense, getOpenSubsonicExtensions, getUser, getScanStatus."""

from __future__ import annotations

from .registry import Ctx, endpoint
from .responses import NOT_AUTHORISED, SubsonicError

EXTENSIONS = [{"name": "sonicSimilarity", "versions": [1]}, {"name": "formPost", "versions": [1]},
              {"name": "apiKeyAuthentication", "versions": [1]}]


@endpoint("ping")
def ping(ctx: Ctx) -> dict:
    return {}


@endpoint("getLicense")
def get_license(ctx: Ctx) -> dict:
    return {"license": {"valid": True, "email": "", "licenseExpires": "2099-12-31T00:00:00Z"}}


@endpoint("getOpenSubsonicExtensions", auth=False)  # the spec: answered without credentials
def extensions(ctx: Ctx) -> dict:
    return {"openSubsonicExtensions": EXTENSIONS}


@endpoint("getUser")
def get_user(ctx: Ctx) -> dict:
    name = ctx.params.get("username") or ctx.user
    if name != ctx.user:
        raise SubsonicError(NOT_AUTHORISED, "users may only look themselves up")
    return {"user": {"username": name, "scrobblingEnabled": True, "adminRole": False, "settingsRole": False,
                     "downloadRole": True, "uploadRole": False, "playlistRole": True, "coverArtRole": False,
                     "commentRole": False, "podcastRole": False, "streamRole": True, "jukeboxRole": False,
                     "shareRole": False, "videoConversionRole": False, "folder": [1]}}


@endpoint("getScanStatus")
def scan_status(ctx: Ctx) -> dict:
    return {"scanStatus": {"scanning": False, "count": len(ctx.view.songs)}}
