"""The one way tests start a headless Chromium (selenium + chromedriver): offline, sandbox off,
browser console captured. Skips the test when chromium or chromedriver is not installed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def headless_chromium(profile: Path, window: str = "1280,2000") -> Any:
    """A selenium Chrome driver on `CHROMIUM` with its profile in `profile`; call `.quit()`.

    Skips the calling test when chromium or chromedriver is missing.
    """
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install -y "
                    "chromium chromium-driver; scripts/test-deps.sh does it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", f"--window-size={window}",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(driver: Any, script: str, *args: Any, timeout: float = 20,
             poll: float = 0.1) -> bool:
    """Poll `driver.execute_script(script, *args)` until it is truthy or `timeout` seconds pass;
    returns its last value as a bool (the caller asserts what it needed)."""
    import time

    deadline = time.time() + timeout
    while True:
        done = bool(driver.execute_script(script, *args))
        if done or time.time() >= deadline:
            return done
        time.sleep(poll)
