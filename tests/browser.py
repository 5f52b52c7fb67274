"""Headless Chromium for the browser tests, driven over the DevTools protocol.

One call, `open_page`, starts a Chromium, logs a user in (tests/browser_urls.py's /test-login), opens a console
page at a given window size and returns a `Page`: what was laid out (sideways overflow of the page and of every
scrolling box), which of the asked-for elements are missing, the DOM, and every console message. It can type
into a field first, wait for an element or a text, and save a PNG screenshot. `Page.assert_fits` is the
standard check: the window has the asked width, nothing scrolls sideways, the console is silent. Each call starts
its own Chromium; every wait has a generous deadline (the machine may be slow and busy).
"""

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from django.test import override_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (scripts/ensure-chromium installs it; CI always runs this test)",
)
DEADLINE = 120  # seconds, for Chromium to start, a page to load, and what a test waits for to show
WIDTH, HEIGHT = 1366, 768
PNG = b"\x89PNG\r\n\x1a\n"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]

# Measures the laid-out page: sideways overflow of the page and of any scrolling box, the selectors it lacks.
MEASURE_JS = """((selectors) => {
  const sideways = [...document.querySelectorAll('*')].filter(e => {
    const style = getComputedStyle(e);
    return ['auto', 'scroll'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1;
  }).map(e => e.id || e.className || e.tagName);
  return {path: location.pathname, title: document.title, inner_width: innerWidth,
          overflow: document.documentElement.scrollWidth - innerWidth, scrolling_sideways: sideways,
          missing: selectors.filter(s => !document.querySelector(s)), dom: document.documentElement.outerHTML};
})"""


@dataclass
class Page:
    """A page as Chromium laid it out, measured once it loaded (and showed what the test waited for)."""

    path: str  # where the browser ended up (not the login page)
    title: str
    inner_width: int
    overflow: int  # how many pixels the page is wider than the window (<= 0: it fits)
    scrolling_sideways: list[str]  # boxes (id, class or tag) whose content scrolls sideways
    missing: list[str]  # of the selectors asked for
    dom: str
    console: list[str]  # every console message, uncaught exception and browser log entry: "level: text"

    def assert_fits(self, width: int = WIDTH) -> None:
        """The window is `width` wide, neither the page nor any box in it scrolls sideways, and the console is
        silent: no error, and not even a warning or a log line (a console page has no reason to print any)."""
        assert self.inner_width == width
        assert self.overflow <= 0, f"the page scrolls sideways by {self.overflow} px"
        assert self.scrolling_sideways == [], "these scroll sideways"
        assert self.console == []


def open_page(live_server, user, path: str, tmp_path: Path, *, size: tuple[int, int] = (WIDTH, HEIGHT),
              expect: list[str] = (), type_into: str | None = None, text: str = "", wait_for: str | None = None,
              wait_text: str | None = None, screenshot: Path | None = None) -> Page:
    """Open `path` logged in as `user` in a window of `size` and measure it.

    expect: CSS selectors to look for (Page.missing lists those absent). type_into (a selector) and text: type
    this text into that field, replacing what it held, as an operator would. wait_for (a selector), wait_text:
    measure once both show (within DEADLINE). screenshot: save a PNG of the window there, after all that.
    """
    url = f"{live_server.url}/test-login/{user.pk}?next={quote(path)}"
    profile = tmp_path / f"chromium-{time.monotonic_ns()}"
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _debugging_port(profile / "DevToolsActivePort", process)
        with override_settings(ROOT_URLCONF="tests.browser_urls"):
            page = asyncio.run(_open(port, url, size, list(expect), type_into, text, wait_for, wait_text, screenshot))
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)
    assert page.path == urlsplit(path).path, f"landed on {page.path}, not {path}"
    return page


def keep_screenshot(shot: Path, min_bytes: int) -> None:
    """Check `shot` is a real picture (a blank or error page compresses to a few kB); copy it to $SCREENSHOTS.

    SCREENSHOTS=docs/screenshots refreshes the pictures in the docs.
    """
    assert shot.read_bytes()[:8] == PNG and shot.stat().st_size > min_bytes, (shot, shot.stat().st_size)
    if os.environ.get("SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["SCREENSHOTS"]) / shot.name)


def _debugging_port(port_file: Path, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if port_file.exists() and (lines := port_file.read_text().splitlines()):
            return int(lines[0])
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"chromium did not start within {DEADLINE} s")


async def _open(port, url, size, expect, type_into, text, wait_for, wait_text, screenshot) -> Page:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            target = next(t for t in await response.json() if t["type"] == "page")
        async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            tab = _Tab(socket)
            for domain in ("Page", "Runtime", "Log"):
                await tab.call(f"{domain}.enable")
            await tab.call("Emulation.setDeviceMetricsOverride",
                           width=size[0], height=size[1], deviceScaleFactor=1, mobile=False)
            await tab.call("Page.navigate", url=url)
            await tab.wait_for_event("Page.loadEventFired")
            if type_into:
                await tab.evaluate(f"document.querySelector({json.dumps(type_into)}).focus(),"
                                   f"document.querySelector({json.dumps(type_into)}).select()")
                await tab.call("Input.insertText", text=text)
            if wait_for or wait_text:
                await tab.wait_until(f"!!document.querySelector({json.dumps(wait_for or 'html')}) &&"
                                     f"document.body.textContent.includes({json.dumps(wait_text or '')})")
            measured = await tab.evaluate(f"{MEASURE_JS}({json.dumps(expect)})")
            if screenshot:
                shot = await tab.call("Page.captureScreenshot", format="png")
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return Page(**measured, console=tab.console)


class _Tab:
    """One DevTools session: commands by id, and the events that arrive meanwhile (console messages kept)."""

    def __init__(self, socket):
        self.socket, self.console = socket, []
        self._ids, self._seen = 0, set()

    async def call(self, method: str, **params) -> dict:
        self._ids += 1
        await self.socket.send_str(json.dumps({"id": self._ids, "method": method, "params": params}))
        while True:
            message = await self._next()
            if message.get("id") == self._ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:200]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for_event(self, event: str) -> None:
        while event not in self._seen:
            await self._next()

    async def wait_until(self, condition: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not await self.evaluate(condition):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not shown within {DEADLINE} s: {condition}")
            await asyncio.sleep(0.1)

    async def _next(self) -> dict:
        message = json.loads((await self.socket.receive(timeout=DEADLINE)).data)
        method, params = message.get("method"), message.get("params", {})
        if method:
            self._seen.add(method)
        if method == "Runtime.consoleAPICalled":
            level = "error" if params["type"] == "assert" else params["type"]
            words = (str(arg.get("value", arg.get("description"))) for arg in params["args"])
            self.console.append(f"{level}: {' '.join(words)}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console.append(f"error: {details.get('exception', {}).get('description', details.get('text'))}")
        elif method == "Log.entryAdded" and params["entry"]["level"] != "verbose":
            entry = params["entry"]
            self.console.append(f"{entry['level']}: {entry['text']} {entry.get('url', '')}".rstrip())
        return message
