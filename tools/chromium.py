"""A tiny client for headless Chromium over the DevTools protocol (no driver, no extra package).

Used by tests/test_browser.py (the progress player in a real browser) and tools/check_book.py (every page
of a built book, offline). Chromium is started with ``--remote-debugging-pipe``: our commands go to its
file descriptor 3 and its answers and events come back on 4, as JSON messages ended by a NUL byte.
"""
from __future__ import annotations

import base64
import fcntl
import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars"]

class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (file descriptors 3 and 4, JSON + NUL)."""

    def __init__(self, binary: str, profile: str, size=(1280, 1000)):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():  # in the child: its fd 3 reads our commands, its fd 4 carries the answers
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
             f"--window-size={size[0]},{size[1]}", "about:blank"],
            preexec_fn=wire_fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._answers: dict[int, dict] = {}
        self.events: list[dict] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cv:
                    self._cv.notify_all()
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            with self._cv:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                self._cv.notify_all()

    def send(self, method: str, timeout: float = 30, session: bool = True, **params) -> dict:
        with self._cv:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cv:
            while mid not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"Chromium gave no answer to {method} (exit code {self.proc.poll()}).")
                self._cv.wait(left)
            answer = self._answers.pop(mid)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def open_page(self):
        target = self.send("Target.createTarget", session=False, url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", session=False, targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def js(self, expression: str):
        """Evaluate ``expression`` in the page and return its (JSON) value; a thrown error fails the test."""
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise AssertionError(f"JavaScript failed: {expression}\n{res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"Timed out after {timeout} s waiting for {what or expression}")

    def key(self, key: str, code: int):
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    def mouse(self, kind: str, x: float, y: float, buttons: int = 0):
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons,
                  clickCount=1 if kind != "mouseMoved" else 0)

    def click(self, x: float, y: float):
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, 1)
        self.mouse("mouseReleased", x, y)

    def screenshot(self, rect: dict, path: Path):
        clip = {k: rect[k] for k in ("x", "y", "width", "height")} | {"scale": 1}
        data = self.send("Page.captureScreenshot", format="png", clip=clip)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)


# Two messages of the theme stack, on every Jupyter Book page and harmless: sphinx-thebe 0.3.1 writes its
# `const THEBE_JS_URL` line twice (the second copy throws; thebe is off in this book), and
# pydata-sphinx-theme logs "invalid theme mode" on a first visit (empty localStorage) before using "auto".
KNOWN_HARMLESS = ("THEBE_JS_URL", "Got invalid theme mode: . Resetting to auto.")


def script_errors(events: list, known: tuple = KNOWN_HARMLESS) -> list[str]:
    """Script exceptions, console errors and failed loads among DevTools ``events`` (``known`` ones left out;
    a missing favicon is not counted: the book has none)."""
    errors = []
    for e in events:
        if e.get("method") == "Runtime.exceptionThrown":
            d = e["params"]["exceptionDetails"]
            errors.append((d.get("exception") or {}).get("description") or d.get("text"))
        elif e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
            errors.append(" ".join(str(a.get("value", a.get("description"))) for a in e["params"]["args"]))
        elif e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
            entry = e["params"]["entry"]
            if not entry.get("url", "").endswith("/favicon.ico"):
                errors.append(f"{entry['text']} {entry.get('url', '')}")
    return [m for m in errors if not any(k in str(m) for k in known)]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that logs ``(path, status)`` pairs into the class attribute ``log`` and prints
    nothing; subclass it with ``type("H", (QuietHandler,), {"log": []})`` for a log of your own."""

    log: list = []

    def log_request(self, code="-", size="-"):
        self.log.append((self.path, int(code) if str(code).isdigit() else code))

    def log_message(self, *args):
        pass
