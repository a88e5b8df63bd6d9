"""Open every page of a built book in headless Chromium, offline, and say what a reader would meet.

For each HTML page under the build folder (default ``_build/html``) it serves the folder on 127.0.0.1,
loads the page, waits for MathJax and the progress players, and reports:

* requests that leave the served folder (the book must read the same with the network off);
* local requests that failed, and script errors (the theme's two known harmless messages aside);
* how many progress players started, and the page's size on disk with its images.

With ``--screenshots DIR`` it also saves the top of every page, and each player, as PNGs to look at.
Exits 1 if any page requested something from elsewhere, failed a request or threw. Usage:

    python tools/check_book.py [_build/html] [--screenshots shots/] [--pages notebooks/05_dcgan_mnist.html]
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import Chromium, QuietHandler, script_errors  # noqa: E402

SKIP = ("genindex.html", "search.html")


def check_page(chrome: Chromium, origin: str, rel: str, log: list, shots: Path | None) -> dict:
    """Load one page and return what it requested, what failed and how many players ran."""
    del chrome.events[:]
    del log[:]
    chrome.send("Page.navigate", url=f"{origin}/{rel}")
    chrome.wait_for("document.readyState === 'complete'", timeout=60, what=f"{rel} to load")
    n_players = chrome.js("document.querySelectorAll('.glp').length")
    if n_players:
        chrome.wait_for(f"document.querySelectorAll('.glp[data-ready]').length === {n_players}", timeout=30,
                        what=f"the {n_players} players of {rel} to start")
    if chrome.js("document.querySelectorAll('.math, .MathJax, mjx-container').length"):
        chrome.wait_for("!!document.querySelector('mjx-container')", timeout=30, what=f"MathJax on {rel}")
    time.sleep(1.0)  # late requests (fonts, images below the fold)
    urls = [e["params"]["request"]["url"] for e in chrome.events if e.get("method") == "Network.requestWillBeSent"]
    outside = [u for u in urls if not (u.startswith(origin + "/") or u.startswith(("data:", "blob:")))]
    failed = [(p, c) for p, c in log if c not in (200, 304) and not p.endswith("favicon.ico")]  # 304: cached
    if shots is not None:
        stem = rel.replace("/", "__").removesuffix(".html")
        chrome.screenshot({"x": 0, "y": 0, "width": 1280, "height": 1000}, shots / f"{stem}.png")
        for i in range(n_players):
            box = chrome.js(f"""(() => {{ const e = document.querySelectorAll('.glp')[{i}];
                e.scrollIntoView({{block: 'start'}}); const r = e.getBoundingClientRect();
                return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()""")
            chrome.screenshot(box, shots / f"{stem}__player{i + 1}.png")
    return {"page": rel, "requests": len(urls), "outside": outside, "failed": failed,
            "errors": script_errors(chrome.events), "players": n_players}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="_build/html", help="the built book")
    parser.add_argument("--screenshots", type=Path, default=None, help="save page and player screenshots here")
    parser.add_argument("--pages", nargs="*", default=None, help="only these pages (paths inside the folder)")
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    pages = args.pages or sorted(str(p.relative_to(folder)) for p in folder.rglob("*.html")
                                 if p.name not in SKIP and "_static" not in p.parts)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                  None)
    if binary is None:
        sys.exit("Chromium is not installed: `apt-get install -y chromium` (Debian).")

    log: list = []
    handler = type("Handler", (QuietHandler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    bad, outside = 0, 0
    with tempfile.TemporaryDirectory(prefix="ganlib-chromium-") as profile:
        chrome = Chromium(binary, profile)
        try:
            chrome.open_page()
            for rel in pages:
                r = check_page(chrome, origin, rel, log, args.screenshots)
                size = (folder / rel).stat().st_size / 1e6
                verdict = "ok" if not (r["outside"] or r["failed"] or r["errors"]) else "PROBLEM"
                bad += verdict != "ok"
                outside += len(r["outside"])
                print(f"{verdict:8s}{rel:45s}{r['requests']:4d} requests, {r['players']} players, "
                      f"page {size:5.2f} MB", flush=True)
                for key in ("outside", "failed", "errors"):
                    for item in r[key]:
                        print(f"        {key}: {json.dumps(item)[:300]}")
        finally:
            chrome.close()
            server.shutdown()
    print(f"\n{len(pages)} pages, {bad} with problems; {outside} requests outside the served folder in all.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
