"""Headless Chromium driven over the DevTools protocol: open a page as a logged-in user, run checks, screenshot.

Unlike `--dump-dom`, this sees the laid-out page (widths, what scrolls sideways) and every console error.
Each visit starts its own Chromium; every wait has a generous deadline (the machine may be slow and busy).
"""

import asyncio
import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]
DEADLINE = 120  # seconds, for Chromium to start and for a page to load

# What a page check returns: the sideways overflow of the page and of any scrolling box, the selectors it lacks.
CHECK_JS = """(selectors) => {
  const sideways = [...document.querySelectorAll('*')].filter(e => {
    const style = getComputedStyle(e);
    return ['auto', 'scroll'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1;
  }).map(e => e.id || e.className || e.tagName);
  return {pageOverflow: document.documentElement.scrollWidth - innerWidth, innerWidth: innerWidth,
          scrollingSideways: sideways, missing: selectors.filter(s => !document.querySelector(s))};
}"""


@dataclass
class Visit:
    checks: dict
    console_errors: list[str] = field(default_factory=list)


def logged_in_url(live_server, user, path: str) -> str:
    """The tests.browser_urls login that lands on `path` (set settings.ROOT_URLCONF = "tests.browser_urls")."""
    return f"{live_server.url}/test-login/{user.pk}?next={quote(path)}"


def visit(tmp_path: Path, url: str, selectors: list[str], *, screenshot: Path | None = None,
          width: int = 1366, height: int = 768) -> Visit:
    """Open `url` at width x height, check CHECK_JS with `selectors`, and save a PNG of the viewport if asked."""
    profile = tmp_path / f"chromium-{time.monotonic_ns()}"
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _debugging_port(profile / "DevToolsActivePort", process)
        return asyncio.run(_visit(port, url, selectors, screenshot, width, height))
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)


def _debugging_port(port_file: Path, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if port_file.exists() and (lines := port_file.read_text().splitlines()):
            return int(lines[0])
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"chromium did not start within {DEADLINE} s")


async def _visit(port, url, selectors, screenshot, width, height) -> Visit:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            target = next(t for t in await response.json() if t["type"] == "page")
        async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            page = _Page(socket)
            for domain in ("Page", "Runtime", "Log"):
                await page.call(f"{domain}.enable")
            await page.call("Emulation.setDeviceMetricsOverride",
                            width=width, height=height, deviceScaleFactor=1, mobile=False)
            await page.call("Page.navigate", url=url)
            await page.wait_for("Page.loadEventFired")
            result = await page.call("Runtime.callFunctionOn", functionDeclaration=CHECK_JS,
                                     executionContextId=page.context_id, arguments=[{"value": selectors}],
                                     returnByValue=True)
            if screenshot:
                shot = await page.call("Page.captureScreenshot", format="png")
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return Visit(result["result"]["value"], page.errors)


class _Page:
    """One DevTools session: commands by id, and the events that arrive meanwhile (console errors kept)."""

    def __init__(self, socket):
        self.socket, self.errors, self.context_id = socket, [], None
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

    async def wait_for(self, event: str) -> None:
        while event not in self._seen:
            await self._next()

    async def _next(self) -> dict:
        message = json.loads((await self.socket.receive(timeout=DEADLINE)).data)
        method, params = message.get("method"), message.get("params", {})
        if method:
            self._seen.add(method)
        if method == "Runtime.executionContextCreated" and params["context"].get("auxData", {}).get("isDefault"):
            self.context_id = params["context"]["id"]
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            self.errors.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
        return message
