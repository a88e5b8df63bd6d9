"""Open every page of a built book in headless Chromium, offline, and say what a reader would meet.

For each HTML page under the build folder (default ``_build/html``) it serves the folder on 127.0.0.1,
loads the page, waits for MathJax and the progress players, and reports:

* requests that leave the served folder (the book must read the same with the network off);
* local requests that failed, and script errors (the theme's two known harmless messages aside);
* how many progress players started, and the page's size on disk with its images.

Chromium is the system's (Debian: ``apt-get install -y chromium``), driven by Playwright (tools/browser.py).
With ``--screenshots DIR`` it also saves the top of every page, and each player, as PNGs to look at.
Exits 1 if any page requested something from elsewhere, failed a request or threw. Usage:

    python tools/check_book.py [_build/html] [--screenshots shots/] [--pages notebooks/05_dcgan_mnist.html]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import VIEWPORT, Recorder, chromium_binary, launch, serve, wait_for  # noqa: E402

SKIP = ("genindex.html", "search.html")


def check_page(page, rec: Recorder, origin: str, rel: str, log: list, shots: Path | None) -> dict:
    """Load one page and return what it requested, what failed and how many players ran."""
    rec.clear()
    del log[:]
    page.goto(f"{origin}/{rel}", wait_until="commit", timeout=60_000)
    wait_for(page, "document.readyState === 'complete'", timeout=60, what=f"{rel} to load")
    n_players = page.evaluate("document.querySelectorAll('.glp').length")
    if n_players:
        wait_for(page, f"document.querySelectorAll('.glp[data-ready]').length === {n_players}", timeout=30,
                 what=f"the {n_players} players of {rel} to start")
    if page.evaluate("document.querySelectorAll('.math, .MathJax, mjx-container').length"):
        wait_for(page, "!!document.querySelector('mjx-container')", timeout=30, what=f"MathJax on {rel}")
    page.wait_for_timeout(1000)  # late requests (fonts, images below the fold)
    failed = [(p, c) for p, c in log if c not in (200, 304) and not p.endswith("favicon.ico")]  # 304: cached
    if shots is not None:
        stem = rel.replace("/", "__").removesuffix(".html")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=shots / f"{stem}.png")
        for i in range(n_players):
            page.locator(".glp").nth(i).screenshot(path=shots / f"{stem}__player{i + 1}.png")
    return {"page": rel, "requests": len(rec.requests), "outside": rec.outside(origin), "failed": failed,
            "errors": rec.errors(), "players": n_players}


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
    binary = chromium_binary()
    if binary is None:
        sys.exit("Chromium is not installed: `apt-get install -y chromium` (Debian), or point GANLIB_CHROMIUM "
                 "at a Chrome/Chromium binary.")
    from playwright.sync_api import sync_playwright

    bad, outside = 0, 0
    with serve(folder) as (origin, log), sync_playwright() as pw:
        browser = launch(pw, binary)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            rec = Recorder(page)
            for rel in pages:
                r = check_page(page, rec, origin, rel, log, args.screenshots)
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
            browser.close()
    print(f"\n{len(pages)} pages, {bad} with problems; {outside} requests outside the served folder in all.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
