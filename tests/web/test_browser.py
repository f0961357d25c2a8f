"""The pages in a real headless Chromium (skipped where chromium/chromedriver are missing)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from genrerec.web.browser import find_chromium

if find_chromium() is None:
    pytest.skip("chromium, chromedriver or selenium not installed", allow_module_level=True)

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from genrerec.playlists.m3u import read_m3u  # noqa: E402
from genrerec.web.browser import chromium, wait_ready  # noqa: E402
from genrerec.web.server import running  # noqa: E402
from tests.web.conftest import GENRES, PER_GENRE  # noqa: E402

WAIT = 20  # seconds before a condition that should hold within milliseconds counts as failed


@pytest.fixture(scope="module")
def site(web_library):
    with running(web_library) as (url, worker):
        yield url


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    d = chromium(download_dir=downloads)
    yield d
    d.quit()


@pytest.fixture
def page(browser, site):
    browser.get(site)
    wait_ready(browser, WAIT)
    return browser


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def list_ids(driver, which: str) -> list[int]:
    """Track ids shown in a list, read in one step (the list is re-rendered as answers arrive)."""
    return js(driver, f"return [...document.querySelectorAll('#{which} li[data-id]')].map(li => +li.dataset.id)")


def playlist_ids(driver) -> list[int]:
    return list_ids(driver, "playlist")


def click(driver, css: str) -> None:
    """Click the element once it is there, again if a re-render replaced it meanwhile."""
    def attempt(d):
        d.find_element(By.CSS_SELECTOR, css).click()
        return True

    WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException, NoSuchElementException]
                  ).until(attempt)


def test_map_draws_every_track(page):
    n = len(GENRES) * PER_GENRE
    assert js(page, "return genrerec.map.drawCount") == n
    assert js(page, "return genrerec.map.visible") == n  # the reset view shows every point
    painted = js(page, """
        const c = document.getElementById('map'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let k = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) k++; return k;""")
    assert painted >= n  # at least a pixel per point actually reached the canvas
    legend = page.find_element(By.ID, "legend").text
    assert all(f"{g} {PER_GENRE}" in legend for g in GENRES)


def test_clicking_a_point_plays_it(page):
    canvas = page.find_element(By.ID, "map")
    tid = js(page, "return genrerec.map.data.ids[0]")
    p = js(page, "return genrerec.map.screenOf(arguments[0])", tid)
    size = canvas.size
    ActionChains(page).move_to_element_with_offset(canvas, int(p["x"] - size["width"] / 2),
                                                   int(p["y"] - size["height"] / 2)).click().perform()
    WebDriverWait(page, WAIT).until(lambda d: js(d, "return document.getElementById('player').currentTime") > 0)
    src = js(page, "return document.getElementById('player').src")
    assert src.rsplit("/", 1)[1] in {str(i) for i in js(page, "return genrerec.map.data.ids")}
    assert page.find_element(By.ID, "nowplaying").text


def test_wheel_zooms_and_drag_pans_the_map(page):
    canvas = page.find_element(By.ID, "map")
    view = "return [genrerec.map.view.zoom, genrerec.map.view.cx, genrerec.map.view.cy]"
    ActionChains(page).scroll_from_origin(ScrollOrigin.from_element(canvas), 0, -400).perform()  # wheel up: in
    WebDriverWait(page, WAIT).until(lambda d: js(d, view)[0] > 1.5)
    zoom, cx, cy = js(page, view)
    ActionChains(page).move_to_element(canvas).click_and_hold().move_by_offset(120, 0).release().perform()
    z2, cx2, cy2 = js(page, view)
    assert z2 == zoom and cx2 < cx and cy2 == cy  # dragged right: the view moved left
    assert js(page, "return genrerec.map.visible") < js(page, "return genrerec.map.drawCount")  # zoomed in
    page.find_element(By.ID, "resetview").click()
    WebDriverWait(page, WAIT).until(lambda d: js(d, view) == [1, 0, 0])


def test_a_transcoded_track_plays_too(page):
    names = js(page, "return genrerec.map.data.names")
    tid = js(page, "return genrerec.map.data.ids")[names.index(f"mid/mid{PER_GENRE - 1:02d}")]  # the .aiff
    js(page, "play(arguments[0])", tid)
    WebDriverWait(page, WAIT).until(lambda d: js(d, "return document.getElementById('player').currentTime") > 0)


def _add_from_search(driver, query: str) -> int:
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(query)
    tid = WebDriverWait(driver, WAIT).until(
        lambda d: next((i for i in list_ids(d, "results") if query in js(d, f"return genrerec.map.data.names["
                                                                            f"genrerec.map.row.get({i})]")), None))
    click(driver, f'#results li[data-id="{tid}"] button.add')
    WebDriverWait(driver, WAIT).until(lambda d: tid in list_ids(d, "history"))
    return tid


def test_two_tracks_and_the_slider_change_the_playlist(page, downloads, site, web_library):
    a, b = _add_from_search(page, "low0"), _add_from_search(page, "high0")
    n = int(page.find_element(By.ID, "n").get_attribute("value"))
    shown = "return genrerec.shown && [genrerec.shown.history, genrerec.shown.temperature, genrerec.shown.exclude]"
    WebDriverWait(page, WAIT).until(lambda d: js(d, shown) == [[a, b], 0.5, []])  # the CLI default
    cold = playlist_ids(page)
    assert len(cold) == n
    assert a not in cold and b not in cold
    assert js(page, "return [...genrerec.map.picks].sort((x, y) => x - y)") == sorted(cold)  # lit on the map

    slider = page.find_element(By.ID, "temperature")
    slider.click()
    slider.send_keys(Keys.END)  # all the way to the hottest setting
    WebDriverWait(page, WAIT).until(lambda d: js(d, shown) == [[a, b], 2, []])
    hot = playlist_ids(page)
    assert len(hot) == n and hot != cold

    gone = hot[0]
    click(page, f'#playlist li[data-id="{gone}"] button.remove')
    WebDriverWait(page, WAIT).until(lambda d: js(d, shown) == [[a, b], 2, [gone]])
    assert len(playlist_ids(page)) == n and gone not in playlist_ids(page)

    final = playlist_ids(page)
    page.find_element(By.ID, "save").click()
    saved = downloads / "genrerec-playlist.m3u8"
    WebDriverWait(page, WAIT).until(lambda d: saved.exists() and saved.stat().st_size > 0)
    text = saved.read_text()
    assert text.startswith("#EXTM3U\n") and text.count("#EXTINF:") == n
    paths = read_m3u(saved)
    with urllib.request.urlopen(site + "api/tracks?limit=1000", timeout=WAIT) as r:
        rel = {t["id"]: t["path"] for t in json.load(r)["tracks"]}
    assert paths == [web_library / rel[i] for i in final] and all(p.is_file() for p in paths)


def test_library_page_shows_counts_and_failures(browser, site):
    browser.get(site + "library")
    wait_ready(browser, WAIT)
    cards = browser.find_element(By.ID, "cards").text
    assert str(len(GENRES) * PER_GENRE) in cards
    failures = browser.find_element(By.ID, "failures").text
    assert "broken/empty.mp3" in failures and "empty file (0 bytes)" in failures
    assert browser.find_element(By.ID, "genres").text.count(str(PER_GENRE)) == len(GENRES)


def test_colour_by_tag_lights_up_when_the_catalog_has_tags(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from tests.web.conftest import make_web_library

    lib = make_web_library(tmp_path / "music", per_genre=2, audio=False, tags=["bassy", "happy"])
    with running(lib) as (url, worker):
        browser.get(url)
        wait_ready(browser, WAIT)
        menu = Select(browser.find_element(By.ID, "colour"))
        assert [o.get_attribute("value") for o in menu.options] == ["genre", "cluster", "tag:bassy", "tag:happy"]
        menu.select_by_value("tag:bassy")
        WebDriverWait(browser, WAIT).until(lambda d: js(d, "return !!genrerec.map.tagValues"))
        values = js(browser, "return Array.from(genrerec.map.tagValues)")
        genres = js(browser, "return genrerec.map.data.genre")
        assert values == [1.0 if g == 0 else 0.0 for g in genres]
        assert "bassy" in browser.find_element(By.ID, "legend").text
        assert js(browser, "return genrerec.map.drawCount") == len(genres)


def test_uncertain_tracks_are_grey_listed_in_the_legend_and_picks_show_tags_first(browser, tmp_path):
    from genrerec.models.space import UNCERTAIN
    from tests.web.test_display import make_called_web_library

    with running(make_called_web_library(tmp_path / "music")) as (url, worker):
        browser.get(url)
        wait_ready(browser, WAIT)
        legend = [s for s in browser.find_elements(By.CSS_SELECTOR, "#legend span") if s.text.startswith(UNCERTAIN)]
        assert [s.text for s in legend] == [f"{UNCERTAIN} 3"]
        assert legend[0].get_attribute("style").replace(" ", "").endswith("--c:#8a8f98;")  # a neutral grey
        _add_from_search(browser, "mid/mid01")
        WebDriverWait(browser, WAIT).until(lambda d: playlist_ids(d))
        metas = js(browser, "return [...document.querySelectorAll('#playlist li .meta')].map(m => m.textContent)")
        assert metas and all(m.startswith("female vocalists, mellow · ") for m in metas), metas
        assert any(m.startswith(f"female vocalists, mellow · {UNCERTAIN}") for m in metas), metas
        assert any("% · " in m or m.endswith("%") for m in metas), metas  # a confident call: genre and percentage


# --- the builder's modes, filters and avoid list ---------------------------------------------

def _select(driver, css_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, css_id)).select_by_value(value)


def _genre_of(driver, ids: list[int]) -> list[str]:
    return js(driver, "const m = genrerec.map; return arguments[0].map(i => m.data.genres[m.data.genre[m.row.get(i)]])",
              ids)


def test_the_slider_starts_at_the_servers_default(page):
    from genrerec.recommend.results import DEFAULT_TEMPERATURE

    assert float(page.find_element(By.ID, "temperature").get_attribute("value")) == DEFAULT_TEMPERATURE
    assert page.find_element(By.ID, "tval").text == f"{DEFAULT_TEMPERATURE:.2f}"


def test_similar_mode_with_a_genre_filter_and_the_avoid_list(page):
    a = _add_from_search(page, "low0")
    _select(page, "mode", "similar")
    WebDriverWait(page, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("track") == a)
    first = playlist_ids(page)
    assert first and a not in first and js(page, "return document.getElementById('temperature').disabled")
    page.find_element(By.ID, "filters").click()  # open the details
    page.find_element(By.ID, "exgenres").send_keys("low")
    WebDriverWait(page, WAIT).until(lambda d: js(d, "return genrerec.shown.exclude_genres") == ["low"])
    assert playlist_ids(page) and "low" not in _genre_of(page, playlist_ids(page))
    gone = playlist_ids(page)[0]
    click(page, f'#playlist li[data-id="{gone}"] button.avoid')
    WebDriverWait(page, WAIT).until(lambda d: gone in (js(d, "return genrerec.shown.avoid") or []))
    assert gone in list_ids(page, "avoid") and gone not in playlist_ids(page)
    click(page, f'#avoid li[data-id="{gone}"] button')  # stop avoiding it
    WebDriverWait(page, WAIT).until(lambda d: js(d, "return genrerec.shown.avoid") == [])


def test_path_mode_runs_from_the_first_track_to_the_second(page):
    a, b = _add_from_search(page, "low0"), _add_from_search(page, "high0")
    _select(page, "mode", "path")
    WebDriverWait(page, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("start") == a)
    got = playlist_ids(page)
    assert got[0] == a and got[-1] == b and 3 <= len(got) <= int(page.find_element(By.ID, "n").get_attribute("value"))


def test_recommend_mode_takes_the_length_filters(page):
    _add_from_search(page, "mid0")
    page.find_element(By.ID, "filters").click()
    page.find_element(By.ID, "maxdur").send_keys("1")  # every track lasts 3 s
    WebDriverWait(page, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("max_duration") == 1)
    assert playlist_ids(page) == []
    box = page.find_element(By.ID, "maxdur")
    box.send_keys(Keys.BACKSPACE, "9")
    WebDriverWait(page, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("max_duration") == 9)
    assert len(playlist_ids(page)) == int(page.find_element(By.ID, "n").get_attribute("value"))


def test_tag_mix_and_cluster_colours_on_a_tagged_library(browser, tmp_path):
    from tests.web.conftest import make_web_library

    lib = make_web_library(tmp_path / "music", per_genre=4, audio=False, tags=["bassy", "happy"])
    with running(lib) as (url, worker):
        browser.get(url)
        wait_ready(browser, WAIT)
        _select(browser, "mode", "mix")
        browser.find_element(By.ID, "mixtags").send_keys("bassy")
        WebDriverWait(browser, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("tags") == ["bassy"])
        got = playlist_ids(browser)
        # "bassy" scores 1 on the low folder only; two per folder (the album cap) before other folders
        assert got and set(_genre_of(browser, got[:2])) == {"low"}
        _select(browser, "colour", "cluster")
        WebDriverWait(browser, WAIT).until(lambda d: js(d, "return !!genrerec.map.clusters"))
        c = js(browser, "return genrerec.map.clusters")
        assert len(c["labels"]) == len(GENRES) * 4 and "k = " in browser.find_element(By.ID, "legend").text
        assert js(browser, "return genrerec.map.drawCount") == len(GENRES) * 4


def test_a_playlist_loaded_as_not_in_is_never_picked(page, tmp_path):
    _add_from_search(page, "mid0")
    WebDriverWait(page, WAIT).until(lambda d: len(playlist_ids(d)) > 3)
    first = playlist_ids(page)[:3]
    tracks = js(page, "return fetch('/api/tracks?limit=1000').then(r => r.json())")["tracks"]  # as the page asks
    paths = {t["id"]: t["path"] for t in tracks}
    played = tmp_path / "played.m3u8"
    played.write_text("#EXTM3U\n" + "\n".join(paths[i] for i in first) + "\n", encoding="utf-8")
    page.find_element(By.ID, "notinfile").send_keys(str(played))
    WebDriverWait(page, WAIT).until(lambda d: sorted((js(d, "return genrerec.shown") or {}).get("not_in") or [])
                                    == sorted(first))
    assert playlist_ids(page) and not set(first) & set(playlist_ids(page))
    assert "not in played.m3u8 (3 tracks)" in page.find_element(By.ID, "notin").text
    click(page, "#notin li button")  # allow them again
    WebDriverWait(page, WAIT).until(lambda d: (js(d, "return genrerec.shown") or {}).get("not_in") == [])
