"""Console pages in a real headless Chromium at 1366×768: log in, load a page, measure it, screenshot it.

`check_page` loads the page inside a same-origin probe page (an iframe of exactly 1366×768), whose
script writes the page's scrollWidth, innerWidth and the ids it found into the dumped DOM; Chromium's
stderr carries every console message of the page. Tests using it set ROOT_URLCONF to this module.
"""

import html
import json
import os
import re
import shutil
import subprocess
from urllib.parse import quote

import pytest
from django.http import HttpResponse
from django.urls import path
from django.utils.html import escape

from tests.browser_urls import urlpatterns as login_urlpatterns

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (scripts/ensure-chromium installs it; CI always runs this test)",
)
WIDTH, HEIGHT = 1366, 768
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def chromium(tmp_path, url, *action, size=(WIDTH, HEIGHT)) -> subprocess.CompletedProcess:
    """Run headless Chromium once (seconds on a quiet machine; the deadline is for a slow, busy one)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--window-size={size[0]},{size[1]}", f"--user-data-dir={profile}",
                           *action, url], capture_output=True, text=True, timeout=120, check=True)


def logged_in(live_server, user, page: str) -> str:
    """A URL that logs `user` in (tests/browser_urls.py) and then opens `page`."""
    return f"{live_server.url}/test-login/{user.pk}?next={quote(page)}"


PROBE = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var frame = this.contentWindow, root = frame.document.documentElement;
  var found = {ids}.filter(function (id) {{ return frame.document.getElementById(id) !== null; }});
  var result = document.createElement("pre");
  result.id = "probe";
  result.textContent = JSON.stringify({{scrollWidth: root.scrollWidth, innerWidth: frame.innerWidth, found: found,
                                       title: frame.document.title}});
  document.body.appendChild(result);
}});
</script></body></html>"""


def probe(request):
    ids = json.dumps(request.GET.getlist("id"))
    return HttpResponse(PROBE.format(src=escape(request.GET["page"]), width=WIDTH, height=HEIGHT, ids=ids))


urlpatterns = [path("test-probe/", probe), *login_urlpatterns]


def check_page(live_server, tmp_path, user, page: str, ids: list[str]) -> dict:
    """Load `page` at 1366×768 as `user`: {scrollWidth, innerWidth, found (of ids), title, console (messages)}."""
    query = "&".join([f"page={quote(page)}", *(f"id={quote(element_id)}" for element_id in ids)])
    run = chromium(tmp_path, logged_in(live_server, user, f"/test-probe/?{query}"), "--dump-dom")
    measured = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert measured, f"the page did not load in time:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    result = json.loads(html.unescape(measured.group(1)))
    result["console"] = re.findall(r":CONSOLE[:(]\d+\)?\] (.*)", run.stderr)
    return result


def screenshot(live_server, tmp_path, user, page: str, keep_as=None, size=(WIDTH, HEIGHT)):
    """A PNG of `page` as `user` (its path); kept as `keep_as` too if given."""
    shot = tmp_path / "page.png"
    chromium(tmp_path, logged_in(live_server, user, page), f"--screenshot={shot}", size=size)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if keep_as:
        shutil.copy(shot, keep_as)
    return shot
