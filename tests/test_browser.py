"""The progress player and the offline book, in a real browser (headless Chromium).

One small book is built with the repository's own ``_config.yml`` (vendored require.js, widget manager and
MathJax: the test runs tools/vendor_js.py first, a no-op when vendor/ is current) from a demo notebook: math, a progress player with a loss panel, and an
ipywidgets Play + IntSlider pair linked in the browser. It is served on 127.0.0.1 and opened in Debian's
Chromium, driven through the DevTools protocol over a pipe (no driver, no extra package). The test then
moves the player's slider by keyboard and by mouse, presses Play, and checks that the picture and the
loss marker follow, that MathJax and the widgets rendered, that no script threw, and that the page asked
for nothing outside the served folder.

Chromium is required: without it the test FAILS (CI installs it with ``apt-get install -y chromium``).
Set ``GANLIB_SCREENSHOTS=<folder>`` to also save the player at two positions (player_pos1/2.png).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from chromium import Chromium, QuietHandler, script_errors  # noqa: E402  (tools/chromium.py: the DevTools-protocol client)

INTERVAL_MS = 150  # the demo player's frame time: short, so that Play visibly advances within a second


def chromium_binary() -> str:
    for name in (os.environ.get("GANLIB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium is not installed, and the browser test needs it: `apt-get install -y chromium` "
                "(Debian; .ci/run does this), or point GANLIB_CHROMIUM at a Chrome/Chromium binary.")


# ---------------------------------------------------------------- the demo book
DEMO_CODE = f"""\
import numpy as np
import ganlib as gl
rng = np.random.default_rng(0)
history = gl.History()
for i in range(240):   # made-up losses, one per G update; D starts strong, G catches up
    history.append(loss_d=0.6 + 0.8 * np.exp(-i / 60) + 0.05 * rng.standard_normal(),
                   loss_g=3.0 - 2.0 * np.exp(-i / 80) + 0.10 * rng.standard_normal(),
                   d_x=0.6, d_g_z1=0.3, d_g_z2=0.35, epoch=i // 60, seconds=0.01)
frames, steps = [], list(range(0, 241, 24))
for k, s in enumerate(steps):  # 11 different pictures: a colour ramp that shifts with the frame
    y, x = np.mgrid[0:130, 0:130]
    frame = np.stack([(x * 2 + 20 * k) % 256, (y * 2) % 256, np.full_like(x, 25 * k % 256)], -1)
    frames.append(frame.astype(np.uint8))
gl.viz.player(frames, steps=steps, history=history, interval_ms={INTERVAL_MS}, title="Demo progress")
"""
WIDGET_CODE = """\
import ipywidgets as W
play = W.Play(value=0, min=0, max=50, interval=50, description="Play")
slider = W.IntSlider(value=0, min=0, max=50, description="$k$ steps")
W.jslink((play, "value"), (slider, "value"))
W.HBox([play, slider])
"""


def build_demo_book(folder: Path) -> Path:
    """A one-page book with the repository's configuration; returns the built page."""
    # the vendored JavaScript the configuration points at (a no-op when vendor/ is current; else it fetches
    # the pinned tarballs from the npm registry, as the README's build command does)
    vendored = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_js.py")], capture_output=True,
                              text=True, timeout=300)
    if vendored.returncode != 0:
        pytest.fail(f"tools/vendor_js.py failed:\n{vendored.stdout}\n{vendored.stderr}")
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    for name in ("vendor", "tools", "book"):  # what _config.yml points at
        (folder / name).symlink_to(ROOT / name)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: demo\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Player demo\n\nThe optimal discriminator is $D^*(x) = "
                                      "\\frac{p_{data}(x)}{p_{data}(x) + p_g(x)}$, and\n\n"
                                      "$$C(G) = -\\log 4 + 2\\,\\mathrm{JSD}(p_{data} \\| p_g).$$"),
        nbformat.v4.new_code_cell(DEMO_CODE),
        nbformat.v4.new_code_cell(WIDGET_CODE),
    ]
    nbformat.write(nb, folder / "demo.ipynb")
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    proc = subprocess.run([jb, "build", str(folder), "--builder", "html"], capture_output=True, text=True,
                          timeout=300)
    page = folder / "_build" / "html" / "demo.html"
    if proc.returncode != 0 or not page.exists():
        pytest.fail(f"jupyter-book build failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return page


# A notebook front end (JupyterLab, Notebook 7) puts an HTML output in with innerHTML, re-creates its
# <script> elements so that they run, and may attach the output to the page only afterwards.
FRONTEND_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>front-end insertion</title></head><body>
<script>
fetch("player.json").then((r) => r.json()).then((html) => {
  const host = document.createElement("div");
  host.innerHTML = html;
  for (const old of [...host.getElementsByTagName("script")]) {
    const s = document.createElement("script");
    for (const a of old.attributes) { s.setAttribute(a.name, a.value); }
    s.textContent = old.textContent;
    old.parentNode.replaceChild(s, old);
  }
  setTimeout(() => document.body.appendChild(host), 300);
});
</script></body></html>
"""


def write_frontend_page(folder: Path) -> None:
    import numpy as np

    import ganlib as gl

    frames = [np.full((40, 60, 3), 20 * k, np.uint8) for k in range(6)]
    (folder / "player.json").write_text(json.dumps(gl.viz.player(frames, steps=range(0, 60, 10)).html))
    (folder / "frontend.html").write_text(FRONTEND_PAGE)


@pytest.fixture(scope="module")
def site():
    with tempfile.TemporaryDirectory(prefix="ganlib-browser-") as tmp:
        page = build_demo_book(Path(tmp) / "book")
        write_frontend_page(page.parent)
        log: list = []
        handler = type("Handler", (QuietHandler,), {"log": log})
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(page.parent)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield {"origin": origin, "url": f"{origin}/demo.html", "log": log, "html": page.read_text()}
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def browser(site):
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="ganlib-chromium-") as profile:
        chrome = Chromium(binary, profile)
        try:
            chrome.open_page()
            chrome.send("Page.navigate", url=site["url"])
            chrome.wait_for("document.readyState === 'complete'", what="the page to load")
            chrome.wait_for("!!document.querySelector('.glp[data-ready]')", what="the player to start")
            chrome.wait_for("document.querySelectorAll('mjx-container').length >= 2", what="MathJax to typeset")
            chrome.wait_for("!!document.querySelector('.widget-slider .widget-readout')", what="the widgets")
            time.sleep(1.0)  # let late requests (fonts) show up
            yield chrome
        finally:
            chrome.close()


# ---------------------------------------------------------------- helpers on the page
STATE = """(() => {
  const root = document.querySelector('.glp');
  const r = (sel) => root.querySelector(sel);
  const box = r('.glp-lossbox').getBoundingClientRect(), line = r('.glp-vline').getBoundingClientRect();
  return {frame: +root.dataset.frame, src: r('.glp-frame img').src, label: r('.glp-label').textContent,
          slider: +r('.glp-slider').value, valuetext: r('.glp-slider').getAttribute('aria-valuetext'),
          marker: (line.left - box.left) / box.width, readout: r('.glp-readout').textContent,
          play: r('.glp-play').getAttribute('aria-label')};
})()"""


def rect(chrome, selector: str) -> dict:
    return chrome.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
        return {{x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height,
                 cx: r.left + r.width / 2, cy: r.top + r.height / 2, left: r.left}}; }})()""")


def test_player_scrubs_by_keyboard_and_mouse(browser):
    chrome = browser
    n = chrome.js("+document.querySelector('.glp-slider').max") + 1
    assert n == 11
    last = chrome.js(STATE)
    assert last["frame"] == n - 1 and last["slider"] == n - 1 and "G update 240" in last["label"]

    chrome.js("document.querySelector('.glp-slider').focus()")
    chrome.key("Home", 36)
    first = chrome.js(STATE)
    assert first["frame"] == 0 and first["src"] != last["src"] and "before training" in first["label"]
    chrome.key("ArrowRight", 39)
    chrome.key("ArrowRight", 39)
    two = chrome.js(STATE)
    assert two["frame"] == 2 and two["src"] not in (first["src"], last["src"])
    assert two["label"].startswith("G update 48") and "frame 3 of 11" in two["valuetext"]
    # the marker sits on the loss panel where G update 48 is: 48/240 of the way along the axis, and it moved
    assert last["marker"] > two["marker"] > first["marker"]
    assert "Loss_D" in two["readout"] and "G update 48" in two["readout"]

    # drag the slider thumb with the mouse from the left end to about 70 % of its length
    s = rect(chrome, ".glp-slider")
    chrome.mouse("mouseMoved", s["left"] + 3, s["cy"])
    chrome.mouse("mousePressed", s["left"] + 3, s["cy"], 1)
    chrome.mouse("mouseMoved", s["left"] + 0.4 * s["width"], s["cy"], 1)
    chrome.mouse("mouseMoved", s["left"] + 0.7 * s["width"], s["cy"], 1)
    chrome.mouse("mouseReleased", s["left"] + 0.7 * s["width"], s["cy"])
    dragged = chrome.js(STATE)
    assert 5 <= dragged["frame"] <= 8, dragged
    assert dragged["src"] != two["src"] and dragged["marker"] > two["marker"]

    shots = os.environ.get("GANLIB_SCREENSHOTS")
    if shots:
        chrome.key("Home", 36)
        chrome.key("ArrowRight", 39)
        chrome.screenshot(rect(chrome, ".glp"), Path(shots) / "player_pos1.png")
        for _ in range(6):
            chrome.key("ArrowRight", 39)
        chrome.screenshot(rect(chrome, ".glp"), Path(shots) / "player_pos2.png")


def test_play_advances_frames(browser):
    chrome = browser
    chrome.js("document.querySelector('.glp-slider').focus()")
    chrome.key("Home", 36)
    start = chrome.js(STATE)
    assert start["frame"] == 0 and start["play"] == "Play"
    b = rect(chrome, ".glp-play")
    chrome.click(b["cx"], b["cy"])
    assert chrome.js(STATE)["play"] == "Pause"
    chrome.wait_for("+document.querySelector('.glp').dataset.frame >= 3", timeout=10, what="Play to advance")
    moved = chrome.js(STATE)
    assert moved["src"] != start["src"] and moved["marker"] > start["marker"]
    chrome.click(b["cx"], b["cy"])  # pause
    paused = chrome.js(STATE)
    time.sleep(4 * INTERVAL_MS / 1000)
    assert chrome.js(STATE)["frame"] == paused["frame"] and paused["play"] == "Play"


def test_arrow_keys_on_buttons_and_labels(browser):
    chrome = browser
    chrome.js("document.querySelector('.glp-next').focus()")
    before = chrome.js(STATE)["frame"]
    chrome.key("ArrowLeft", 37)
    assert chrome.js(STATE)["frame"] == max(0, before - 1)
    names = chrome.js("""[...document.querySelectorAll('.glp button, .glp input')]
                         .map(e => e.getAttribute('aria-label'))""")
    assert names == ["Previous frame", "Play", "Next frame", "Frame (G update)"]
    assert chrome.js("document.querySelector('.glp').getAttribute('role')") == "group"
    assert chrome.js("document.querySelector('.glp-frame img').alt").startswith("Fixed-noise samples at")


def test_widgets_and_math_render_offline(browser):
    chrome = browser
    # the ipywidgets Play, jslinked to the slider, runs with no kernel (traps 1-3 would throw or stall here)
    readout = "document.querySelector('.widget-slider .widget-readout').textContent.trim()"
    assert chrome.js(readout) == "0"
    b = rect(chrome, ".widget-play button")
    chrome.click(b["cx"], b["cy"])
    chrome.wait_for(f"+{readout} >= 3", timeout=10, what="the widget Play to move the slider")
    assert chrome.js("document.querySelectorAll('mjx-container').length") >= 2
    # the slider's description "$k$ steps" went through ipywidgets' MathJax-2 call to MathJax 3
    chrome.wait_for("!!document.querySelector('.widget-slider .widget-label mjx-container')", timeout=10,
                    what="the widget label's math")
    assert chrome.js("!!(window.MathJax && window.MathJax.Hub && window.MathJax.typesetPromise)")


def test_no_request_leaves_the_served_folder(browser, site):
    events = list(browser.events)
    urls = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert any(u.endswith("mathjax/es5/tex-mml-chtml.js") or "tex-mml-chtml.js?" in u for u in urls)
    assert any("html-manager/dist/embed-amd.js" in u for u in urls)
    outside = [u for u in urls if not (u.startswith(site["origin"] + "/") or u.startswith(("data:", "blob:")))]
    assert outside == [], f"requests outside the served folder: {outside}"
    failed = [(p, c) for p, c in site["log"] if c != 200 and p != "/favicon.ico"]
    assert failed == [], f"local requests that failed: {failed}"
    fonts = [u for u in urls if u.split("?")[0].endswith((".woff", ".woff2"))]
    assert any("/_static/mathjax/" in u for u in fonts), fonts  # MathJax's own fonts, served locally
    # static check of the built page too: nothing it would load comes from elsewhere
    import re
    loads = re.findall(r'<(?:script|img|iframe|source|link)\b[^>]*?\s(?:src|href)="([^"]+)"', site["html"])
    external = [u for u in loads if u.startswith(("http:", "https:", "//"))]
    assert external == [], external


def test_no_script_errors(browser):
    # tools/chromium.py leaves out two known, harmless messages of the theme stack (see KNOWN_HARMLESS)
    assert script_errors(browser.events) == []


def test_player_starts_when_a_front_end_inserts_it(browser, site):
    chrome = browser
    chrome.send("Page.navigate", url=f"{site['origin']}/frontend.html")
    chrome.wait_for("!!document.querySelector('.glp[data-ready]')", what="the inserted player to start")
    assert chrome.js("+document.querySelector('.glp').dataset.frame") == 5
    chrome.js("document.querySelector('.glp-slider').focus()")
    chrome.key("ArrowLeft", 37)
    assert chrome.js("document.querySelector('.glp-label').textContent") == "G update 40"
