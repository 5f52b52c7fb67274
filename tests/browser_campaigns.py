"""Console pages in headless Chromium at 1366×768: what an operator sees, measured in the browser.

A page is loaded inside a 1366×768 frame of /test-measure (same origin), which records, once the page and its
own scripts have settled, the page's scrollWidth against the frame's width and the page's DOM: so a test can
check there is no horizontal overflow and that the elements it names are there. Errors the page's scripts raise
are read from Chromium's console log. The URLs are tests.browser_urls' (/test-login/<user id>) plus /test-measure.
"""

import json
import re
import shutil
import subprocess
from html import escape, unescape
from urllib.parse import quote, urlencode

from django.http import HttpResponse
from django.urls import path

from tests.browser_urls import urlpatterns as login_urlpatterns

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1366, 768
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

MEASURE_PAGE = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="%(next)s" style="width:%(width)dpx;height:%(height)dpx;border:0"></iframe>
<pre id="measure"></pre>
<script>
var frame = document.getElementById("page"), options = %(options)s, tries = 0;
frame.addEventListener("load", function () {
  var doc = frame.contentDocument;
  if (options.type_into) {  // as an operator types: set the field's value, then the input event typing fires
    var field = doc.querySelector(options.type_into);
    field.value = options.text;
    field.dispatchEvent(new Event("input", {bubbles: true}));
  }
  measure();
});
function measure() {
  var doc = frame.contentDocument;
  // The page's own scripts may still be fetching (the live preview): wait for what they show, up to a deadline.
  var ready = (!options.wait_for || doc.querySelector(options.wait_for)) &&
              (!options.wait_text || doc.body.textContent.indexOf(options.wait_text) !== -1);
  if (!ready && tries++ < 200) {
    setTimeout(measure, 100);
    return;
  }
  document.getElementById("measure").textContent = JSON.stringify({
    scrollWidth: doc.documentElement.scrollWidth, innerWidth: frame.contentWindow.innerWidth,
    url: frame.contentWindow.location.pathname, dom: doc.documentElement.outerHTML});
}
</script></body></html>"""
OPTIONS = ("wait_for", "wait_text", "type_into", "text")


def measure_view(request):
    options = json.dumps({name: request.GET.get(name, "") for name in OPTIONS}).replace("<", "\\u003c")
    return HttpResponse(MEASURE_PAGE % {"next": escape(request.GET["next"]), "width": WIDTH, "height": HEIGHT,
                                        "options": options})


urlpatterns = [path("test-measure", measure_view), *login_urlpatterns]


def chromium(tmp_path, url, *action, height: int = HEIGHT) -> subprocess.CompletedProcess:
    """Run headless Chromium once (seconds on a quiet machine; the deadline is for a slow, busy one)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--window-size={WIDTH},{height}", f"--user-data-dir={profile}",
                           "--virtual-time-budget=30000", *action, url],
                          capture_output=True, text=True, timeout=120, check=True)


def login_url(live_server, user, page: str) -> str:
    return f"{live_server.url}/test-login/{user.pk}?next={quote(page)}"


def open_page(tmp_path, live_server, user, page: str, **options) -> dict:
    """Load `page` logged in as `user` in a 1366×768 frame: {scrollWidth, innerWidth, url, dom, console_errors}.

    Options: type_into (a CSS selector) and text: type this text in that field first; wait_for (a CSS selector)
    and wait_text: measure once they are on the page (or after 20 s).
    """
    assert set(options) <= set(OPTIONS), options
    measure = f"/test-measure?next={quote(page)}&{urlencode(options)}"
    run = chromium(tmp_path, login_url(live_server, user, measure), "--dump-dom")
    found = re.search(r'<pre id="measure">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), run.stdout[-2000:]
    result = json.loads(unescape(found.group(1)))
    result["console_errors"] = [line for line in run.stderr.splitlines()
                                if ":CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    return result


def screenshot(tmp_path, live_server, user, page: str, height: int = HEIGHT):
    """A PNG of `page` at 1366 px wide (and `height` tall)."""
    target = tmp_path / f"shot-{len(list(tmp_path.iterdir()))}.png"
    chromium(tmp_path, login_url(live_server, user, page), f"--screenshot={target}", height=height)
    return target
