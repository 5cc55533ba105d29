"""Headless Chromium for the tests that look at pages the way a person would."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome", "google-chrome-stable"))),
                None)
browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (no chromium, chromium-browser or google-chrome on "
           "PATH); the explorer's browser tests need it (.ci/run installs it with apt-get)",
)


def chromium(tmp_path, url: str, *args: str) -> str:
    """Run headless Chromium on ``url`` and return what it printed."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-extensions",
               "--disable-dev-shm-usage",
               f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
