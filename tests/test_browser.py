"""The progress player and the offline book, in a real browser (headless Chromium).

One small book is built with the repository's own ``_config.yml`` (vendored require.js, widget manager and
MathJax: the test runs tools/vendor_js.py first, a no-op when vendor/ is current) from a demo notebook: math, a progress player with a loss panel, and an
ipywidgets Play + IntSlider pair linked in the browser. It is served on 127.0.0.1 and opened in Debian's
Chromium, driven by Playwright (tools/browser.py; the system's browser, none downloaded). The test then
moves the player's slider by keyboard and by mouse, presses Play, and checks that the picture and the
loss marker follow, that MathJax and the widgets rendered, that no script threw, and that the page asked
for nothing outside the served folder.

Chromium is required: without it the test FAILS (CI installs it with ``apt-get install -y chromium``);
GANLIB_CHROMIUM may point at another Chrome/Chromium binary.
Set ``GANLIB_SCREENSHOTS=<folder>`` to also save the player at two positions (player_pos1/2.png).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from browser import VIEWPORT, Recorder, chromium_binary, launch, serve, wait_for  # noqa: E402

INTERVAL_MS = 150  # the demo player's frame time: short, so that Play visibly advances within a second


def required_chromium() -> str:
    binary = chromium_binary()
    if binary:
        return binary
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
gl.player.player(frames, steps=steps, history=history, interval_ms={INTERVAL_MS}, title="Demo progress")
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
    (folder / "player.json").write_text(json.dumps(gl.player.player(frames, steps=range(0, 60, 10)).html))
    (folder / "frontend.html").write_text(FRONTEND_PAGE)


@pytest.fixture(scope="module")
def site():
    with tempfile.TemporaryDirectory(prefix="ganlib-browser-") as tmp:
        page = build_demo_book(Path(tmp) / "book")
        write_frontend_page(page.parent)
        with serve(page.parent) as (origin, log):
            yield {"origin": origin, "url": f"{origin}/demo.html", "log": log, "html": page.read_text()}


@pytest.fixture(scope="module")
def browser(site):
    """The demo page, loaded: ``.page`` (a Playwright Page) and ``.rec`` (its requests and script errors)."""
    binary = required_chromium()
    from playwright.sync_api import sync_playwright  # (outside any running asyncio loop: pytest has none)

    with sync_playwright() as pw:
        chromium = launch(pw, binary)
        try:
            page = chromium.new_page(viewport=VIEWPORT)
            rec = Recorder(page)
            page.goto(site["url"], wait_until="commit")
            wait_for(page, "document.readyState === 'complete'", what="the page to load")
            wait_for(page, "!!document.querySelector('.glp[data-ready]')", what="the player to start")
            wait_for(page, "document.querySelectorAll('mjx-container').length >= 2", what="MathJax to typeset")
            wait_for(page, "!!document.querySelector('.widget-slider .widget-readout')", what="the widgets")
            page.wait_for_timeout(1000)  # let late requests (fonts) show up
            yield SimpleNamespace(page=page, rec=rec)
        finally:
            chromium.close()


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


def rect(page, selector: str) -> dict:
    """The element's box after scrolling it into view: ``cx``, ``cy``, ``left`` in the viewport."""
    return page.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
        return {{x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height,
                 cx: r.left + r.width / 2, cy: r.top + r.height / 2, left: r.left}}; }})()""")


def test_player_scrubs_by_keyboard_and_mouse(browser):
    page = browser.page
    n = page.evaluate("+document.querySelector('.glp-slider').max") + 1
    assert n == 11
    last = page.evaluate(STATE)
    assert last["frame"] == n - 1 and last["slider"] == n - 1 and "G update 240" in last["label"]

    page.focus(".glp-slider")
    page.keyboard.press("Home")
    first = page.evaluate(STATE)
    assert first["frame"] == 0 and first["src"] != last["src"] and "before training" in first["label"]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    two = page.evaluate(STATE)
    assert two["frame"] == 2 and two["src"] not in (first["src"], last["src"])
    assert two["label"].startswith("G update 48") and "frame 3 of 11" in two["valuetext"]
    # the marker sits on the loss panel where G update 48 is: 48/240 of the way along the axis, and it moved
    assert last["marker"] > two["marker"] > first["marker"]
    assert "Loss_D" in two["readout"] and "G update 48" in two["readout"]

    # drag the slider thumb with the mouse from the left end to about 70 % of its length
    s = rect(page, ".glp-slider")
    page.mouse.move(s["left"] + 3, s["cy"])
    page.mouse.down()
    page.mouse.move(s["left"] + 0.4 * s["width"], s["cy"])
    page.mouse.move(s["left"] + 0.7 * s["width"], s["cy"])
    page.mouse.up()
    dragged = page.evaluate(STATE)
    assert 5 <= dragged["frame"] <= 8, dragged
    assert dragged["src"] != two["src"] and dragged["marker"] > two["marker"]

    shots = os.environ.get("GANLIB_SCREENSHOTS")
    if shots:
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.locator(".glp").screenshot(path=Path(shots) / "player_pos1.png")
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        page.locator(".glp").screenshot(path=Path(shots) / "player_pos2.png")


def test_play_advances_frames(browser):
    page = browser.page
    page.focus(".glp-slider")
    page.keyboard.press("Home")
    start = page.evaluate(STATE)
    assert start["frame"] == 0 and start["play"] == "Play"
    b = rect(page, ".glp-play")
    page.mouse.click(b["cx"], b["cy"])
    assert page.evaluate(STATE)["play"] == "Pause"
    wait_for(page, "+document.querySelector('.glp').dataset.frame >= 3", timeout=10, what="Play to advance")
    moved = page.evaluate(STATE)
    assert moved["src"] != start["src"] and moved["marker"] > start["marker"]
    page.mouse.click(b["cx"], b["cy"])  # pause
    paused = page.evaluate(STATE)
    page.wait_for_timeout(4 * INTERVAL_MS)
    assert page.evaluate(STATE)["frame"] == paused["frame"] and paused["play"] == "Play"


def test_arrow_keys_on_buttons_and_labels(browser):
    page = browser.page
    page.focus(".glp-next")
    before = page.evaluate(STATE)["frame"]
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(STATE)["frame"] == max(0, before - 1)
    names = page.evaluate("""[...document.querySelectorAll('.glp button, .glp input')]
                             .map(e => e.getAttribute('aria-label'))""")
    assert names == ["Previous frame", "Play", "Next frame", "Frame (G update)"]
    assert page.evaluate("document.querySelector('.glp').getAttribute('role')") == "group"
    assert page.evaluate("document.querySelector('.glp-frame img').alt").startswith("Fixed-noise samples at")


def test_widgets_and_math_render_offline(browser):
    page = browser.page
    # the ipywidgets Play, jslinked to the slider, runs with no kernel (traps 1-3 would throw or stall here)
    readout = "document.querySelector('.widget-slider .widget-readout').textContent.trim()"
    assert page.evaluate(readout) == "0"
    b = rect(page, ".widget-play button")
    page.mouse.click(b["cx"], b["cy"])
    wait_for(page, f"+{readout} >= 3", timeout=10, what="the widget Play to move the slider")
    assert page.evaluate("document.querySelectorAll('mjx-container').length") >= 2
    # the slider's description "$k$ steps" went through ipywidgets' MathJax-2 call to MathJax 3
    wait_for(page, "!!document.querySelector('.widget-slider .widget-label mjx-container')", timeout=10,
             what="the widget label's math")
    assert page.evaluate("!!(window.MathJax && window.MathJax.Hub && window.MathJax.typesetPromise)")


def test_no_request_leaves_the_served_folder(browser, site):
    urls = list(browser.rec.requests)
    assert any(u.endswith("mathjax/es5/tex-mml-chtml.js") or "tex-mml-chtml.js?" in u for u in urls)
    assert any("html-manager/dist/embed-amd.js" in u for u in urls)
    outside = browser.rec.outside(site["origin"])
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
    # tools/browser.py leaves out two known, harmless messages of the theme stack (see KNOWN_HARMLESS)
    assert browser.rec.errors() == []


def test_player_starts_when_a_front_end_inserts_it(browser, site):
    page = browser.page
    page.goto(f"{site['origin']}/frontend.html", wait_until="commit")
    wait_for(page, "!!document.querySelector('.glp[data-ready]')", what="the inserted player to start")
    assert page.evaluate("+document.querySelector('.glp').dataset.frame") == 5
    page.focus(".glp-slider")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.querySelector('.glp-label').textContent") == "G update 40"
