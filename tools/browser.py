"""Headless Chromium for the book's browser checks, through Playwright (no browser download).

Used by tests/test_browser.py (the progress player in a real browser) and tools/check_book.py (every page
of a built book, offline). Playwright drives the system's Chromium (Debian's ``chromium``) through
``executable_path``; ``playwright install`` is never needed. What both share lives here: finding and
launching Chromium, a quiet local file server, a recorder of a page's requests and script errors, and the
filter of the theme stack's known, harmless messages.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 1000}

# Two messages of the theme stack, on every Jupyter Book page and harmless: sphinx-thebe 0.3.1 writes its
# `const THEBE_JS_URL` line twice (the second copy throws; thebe is off in this book), and
# pydata-sphinx-theme logs "invalid theme mode" on a first visit (empty localStorage) before using "auto".
KNOWN_HARMLESS = ("THEBE_JS_URL", "Got invalid theme mode: . Resetting to auto.")


def chromium_binary() -> str | None:
    """The Chromium to drive: ``$GANLIB_CHROMIUM``, else ``chromium``, ``chromium-browser`` or
    ``google-chrome`` on the PATH; None when there is none."""
    for name in (os.environ.get("GANLIB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def launch(playwright, binary: str):
    """Start headless ``binary`` (a Chromium) under a sync ``playwright``; returns the Browser."""
    return playwright.chromium.launch(executable_path=binary, args=FLAGS, headless=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that logs ``(path, status)`` pairs into the class attribute ``log`` and prints
    nothing; :func:`serve` gives each server a log of its own."""

    log: list = []

    def log_request(self, code="-", size="-"):
        self.log.append((self.path, int(code) if str(code).isdigit() else code))

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path | str):
    """Serve ``folder`` on 127.0.0.1 (a free port) while in the block; yields ``(origin, log)``, where
    ``log`` fills with the ``(path, status)`` of every request."""
    log: list = []
    handler = type("Handler", (QuietHandler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


class Recorder:
    """Listens to a Playwright page: the URL of every request it makes (``requests``) and every script
    exception, console error and failed load (``messages``; :meth:`errors` leaves the known ones out).
    A missing favicon is not counted: the book has none."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.messages: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda exc: self.messages.append(exc.stack or f"{exc.name}: {exc.message}"))
        page.on("console", self._console)

    def _console(self, msg):
        if msg.type != "error":  # console.error(...) and Chromium's own "Failed to load resource" lines
            return
        url = (msg.location or {}).get("url") or ""
        if not url.split("?")[0].endswith("/favicon.ico"):
            self.messages.append(f"{msg.text} {url}".strip())

    def clear(self):
        del self.requests[:]
        del self.messages[:]

    def outside(self, origin: str) -> list[str]:
        """The requests that left ``origin`` (``data:`` and ``blob:`` URLs stay in the page)."""
        return [u for u in self.requests if not (u.startswith(origin + "/") or u.startswith(("data:", "blob:")))]

    def errors(self, known: tuple = KNOWN_HARMLESS) -> list[str]:
        """Script errors, the ``known`` harmless ones left out."""
        return [m for m in self.messages if not any(k in m for k in known)]


def wait_for(page, expression: str, timeout: float = 20, what: str = ""):
    """Poll the JavaScript ``expression`` until it is truthy and return its value; fail after ``timeout`` s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(expression, timeout=timeout * 1000, polling=100).json_value()
    except PlaywrightTimeout:
        raise AssertionError(f"Timed out after {timeout} s waiting for {what or expression}") from None
