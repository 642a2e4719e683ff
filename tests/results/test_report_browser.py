"""report.html opened in headless Chromium (selenium + Debian's chromium and chromium-driver).

No console error, every image decodes, one trace per free parameter. Where the browser is
missing the test skips, except in CI (``CI`` set), where it fails: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _browser():  # type: ignore[no-untyped-def]
    missing = ""
    if not (CHROMIUM and DRIVER):
        missing = "headless Chromium needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    try:
        from selenium import webdriver
    except ImportError:
        missing = missing or "selenium is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing + ": required in CI")
        pytest.skip(missing)
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def _check_page(driver, path: Path) -> dict:  # type: ignore[no-untyped-def]
    driver.get(path.as_uri())
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.className, i.complete, i.naturalWidth, i.dataset.param || ''])")
    errors = [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]
    assert not errors, errors
    assert images and all(complete and width > 0 for _, complete, width, _ in images), images
    assert "http://" not in path.read_text() and "https://" not in path.read_text()  # nothing from the network
    return {"images": images, "title": driver.title, "text": driver.find_element("tag name", "body").text}


def test_report_in_headless_chromium(finished_run: Path, lattice_plugin: Path, tmp_path: Path) -> None:
    from ingrained_core.apps.outputs import free_parameters, load_run_files, model_description

    files = load_run_files(finished_run)
    free = [p["name"] for p in free_parameters(files, model_description(files.config_data))]
    assert free == ["pixel_size", "sigma", "rotation"]
    driver = _browser()
    try:
        page = _check_page(driver, finished_run / "report.html")
        traces = [param for cls, _, _, param in page["images"] if cls == "trace"]
        assert traces == free  # one trace per free parameter
        assert page["title"] == "lattice test run"
        for heading in ("Figure", "Progress", "Parameters", "Calibration", "Notices", "Provenance"):
            assert heading in page["text"]
        assert "ingrained-gaussian-lattice" in page["text"]  # the plugin's version is listed
        # several runs side by side
        out = tmp_path / "comparison.html"
        proc = run_cli(["report", str(finished_run), str(finished_run), "-o", str(out)],
                       env={"PYTHONPATH": os.pathsep.join([str(lattice_plugin), os.environ.get("PYTHONPATH", "")])})
        assert proc.returncode == 0, proc.stderr
        both = _check_page(driver, out)
        assert [p for c, _, _, p in both["images"] if c == "trace"] == free + free
    finally:
        driver.quit()
