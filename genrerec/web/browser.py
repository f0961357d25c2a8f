"""Headless Chromium for the browser tests, the web benchmark and the screenshot script.

Uses the system `chromium` and `chromedriver` (Debian: `apt-get install
chromium chromium-driver`) through Selenium, never a downloaded browser. The
flags keep the browser from reaching the network on its own and let audio
start without a user gesture.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage", "--mute-audio")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is missing or Selenium is not installed."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def chromium(download_dir: str | os.PathLike | None = None, size: tuple[int, int] = (1400, 860),
             scale: float = 1.0):
    """A Selenium WebDriver on headless Chromium; RuntimeError when Chromium is missing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium, chromedriver or selenium is missing (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--window-size={size[0]},{size[1]}")
    opts.add_argument(f"--force-device-scale-factor={scale}")
    if download_dir is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(Path(download_dir).resolve()),
                                               "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(found[1]), options=opts)
    if download_dir is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(Path(download_dir).resolve())})
    return driver


def wait_ready(driver, timeout: float = 20.0) -> None:
    """Until the page says it is interactive (window.genrerec.ready)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return !!(window.genrerec && window.genrerec.ready)"))
