"""A small headless-Chromium driver over the Chrome DevTools Protocol (websocket-client only).

No browser download and no driver binary: it starts the Chromium found on the machine with a
fresh profile, connects to its DevTools websocket and drives one tab. Only what the site test
needs: navigate, evaluate JavaScript, full-page screenshots, and the record of failed requests,
JavaScript exceptions and console errors of the current page.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import websocket

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--no-default-browser-check",
    "--force-color-profile=srgb", "--window-size=1280,900", "--remote-debugging-port=0", "--remote-allow-origins=*",
]


def find_chromium() -> str | None:
    """$CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH."""
    env = os.environ.get("CHROMIUM")
    if env and os.access(env, os.X_OK):
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


class Browser:
    """A Chromium process and its DevTools connection; use as a context manager."""

    def __init__(self, executable: str, startup_timeout: float = 60):
        self.profile = Path(tempfile.mkdtemp(prefix="cnncourse-chromium-"))
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CDPError(f"{executable} did not open its DevTools port (exit code {self.proc.returncode})")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", suppress_origin=True,
                                              enable_multithread=True, timeout=None)
        self._ids = itertools.count(1)
        self._pending: dict[int, queue.Queue] = {}
        self._handlers: dict[str, list[Callable[[dict, str | None], None]]] = defaultdict(list)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- protocol ---------------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self.ws.recv())
            except Exception:  # connection closed
                for waiting in list(self._pending.values()):
                    waiting.put({"error": {"message": "connection closed"}})
                return
            if "id" in message:
                waiting = self._pending.pop(message["id"], None)
                if waiting is not None:
                    waiting.put(message)
            else:
                for handler in list(self._handlers.get(message.get("method", ""), ())):
                    try:
                        handler(message.get("params", {}), message.get("sessionId"))
                    except Exception:  # a handler must never stop the reader
                        pass

    def post(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        """Send a command without waiting for its reply (for use inside event handlers)."""
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        return msg_id

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        msg_id = next(self._ids)
        waiting: queue.Queue = queue.Queue(maxsize=1)
        self._pending[msg_id] = waiting
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        try:
            reply = waiting.get(timeout=timeout)
        except queue.Empty:
            self._pending.pop(msg_id, None)
            raise CDPError(f"{method}: no reply in {timeout} s") from None
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def on(self, method: str, handler: Callable[[dict, str | None], None]) -> None:
        self._handlers[method].append(handler)

    def new_page(self, width: int = 1280, height: int = 900) -> "Page":
        return Page(self, width, height)

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    """One tab. Records, per navigation, failed requests, JS exceptions and console errors."""

    def __init__(self, browser: Browser, width: int, height: int):
        self.browser = browser
        self.width, self.height = width, height
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._loaded = threading.Event()
        self._redirects: list[tuple[str, str]] = []
        self.failed_requests: list[str] = []
        self.js_errors: list[str] = []
        browser.on("Page.loadEventFired", self._if_mine(lambda p: self._loaded.set()))
        browser.on("Network.responseReceived", self._if_mine(self._on_response))
        browser.on("Network.loadingFailed", self._if_mine(self._on_failure))
        browser.on("Runtime.exceptionThrown", self._if_mine(self._on_exception))
        browser.on("Runtime.consoleAPICalled", self._if_mine(self._on_console))
        browser.on("Fetch.requestPaused", self._if_mine(self._on_paused))
        self._requests: dict[str, str] = {}
        browser.on("Network.requestWillBeSent", self._if_mine(
            lambda p: self._requests.__setitem__(p["requestId"], p["request"]["url"])))
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def _if_mine(self, handler: Callable[[dict], None]) -> Callable[[dict, str | None], None]:
        return lambda params, session: handler(params) if session == self.session else None

    def _on_response(self, params: dict) -> None:
        status = params["response"]["status"]
        if status >= 400:
            self.failed_requests.append(f"HTTP {status} {params['response']['url']}")

    def _on_failure(self, params: dict) -> None:
        if params.get("canceled"):
            return
        url = self._requests.get(params["requestId"], "?")
        self.failed_requests.append(f"{params.get('errorText', 'failed')} {url}")

    def _on_exception(self, params: dict) -> None:
        details = params["exceptionDetails"]
        text = details.get("exception", {}).get("description") or details.get("text", "")
        self.js_errors.append(f"uncaught exception: {text.splitlines()[0] if text else details}")

    def _on_console(self, params: dict) -> None:
        if params.get("type") == "error":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.js_errors.append(f"console.error: {args}")

    def _on_paused(self, params: dict) -> None:
        url = params["request"]["url"]
        for prefix, replacement in self._redirects:
            if url.startswith(prefix):
                self.browser.post("Fetch.continueRequest",
                                  {"requestId": params["requestId"], "url": replacement + url[len(prefix):]},
                                  session=self.session)
                return
        self.browser.post("Fetch.continueRequest", {"requestId": params["requestId"]}, session=self.session)

    def redirect(self, prefix: str, replacement: str) -> None:
        """Serve every request whose URL starts with prefix from replacement + the rest, unseen by
        the page (used to give an offline machine a local copy of a CDN script)."""
        self._redirects.append((prefix, replacement))
        self.send("Fetch.enable", {"patterns": [{"urlPattern": p + "*"} for p, _ in self._redirects]})

    # -- page actions ---------------------------------------------------------------------------
    def goto(self, url: str, timeout: float = 30) -> None:
        self.failed_requests, self.js_errors = [], []
        self._loaded.clear()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigation to {url} failed: {result['errorText']}")
        if not self._loaded.wait(timeout):
            raise CDPError(f"{url}: no load event in {timeout} s")

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        """Evaluate a JavaScript expression (awaiting a promise) and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": timeout * 1000},
                           timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(details.get("exception", {}).get("description") or details.get("text"))
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path, full_page: bool = True, max_height: int = 16000) -> tuple[int, int]:
        """Save a PNG of the page (the whole scrollable page if full_page); return its size.

        For a full page the viewport is made as tall as the page for the capture (capturing
        beyond a normal viewport shifts this theme's layout), then restored.
        """
        width, height = self.width, self.height
        if full_page:
            height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
            height = min(max(height, self.height), max_height)
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        try:
            data = self.send("Page.captureScreenshot", {
                "format": "png", "fromSurface": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})["data"]
        finally:
            if full_page:
                self.send("Emulation.setDeviceMetricsOverride", {
                    "width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return width, height
