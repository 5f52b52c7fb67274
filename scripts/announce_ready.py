"""Part of `make run`: print one line with the console's address once web and worker answer, then idle.

Honcho stops every process when one ends, so after announcing this one waits
until `make run` is stopped. Stuck for longer than a few minutes, it says
what it is still waiting for.
"""

import os
import signal
import sys
import time
from pathlib import Path

import requests

# Procfile.dev: runserver on WEB_PORT (default 8000).
BASE_URL = f"http://localhost:{os.environ.get('WEB_PORT', '8000')}"
SAY_STILL_WAITING_EVERY = 60  # seconds


def web_is_up() -> bool:
    try:
        return requests.get(f"{BASE_URL}/healthz", timeout=5).status_code == 200  # 503 until all answer
    except requests.RequestException:  # refused while runserver starts
        return False


def worker_is_up() -> bool:
    from smsgate.celery import app

    return bool(app.control.ping(timeout=2))


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    import django

    django.setup()
    started = time.monotonic()
    for name, is_up in (("web", web_is_up), ("worker", worker_is_up)):
        said = time.monotonic()
        while not is_up():
            if time.monotonic() - said > SAY_STILL_WAITING_EVERY:
                print(f"still waiting for the {name} process ({time.monotonic() - started:.0f} s)", flush=True)
                said = time.monotonic()
            time.sleep(1)
    print(f"smsgate is up: console {BASE_URL}/admin/  API {BASE_URL}/api/docs/  "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    signal.pause()


if __name__ == "__main__":
    main()
