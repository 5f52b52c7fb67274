"""Webhook ingest vs a hello-world Django view, on gunicorn with Postgres and Redis.

Both run in the same gunicorn (gunicorn.conf.py, 2 processes for the
machine's 2 cores), loaded by wrk (apt-get install wrk) with 32 connections,
once opening a new connection per request and once with keep-alive. The
webhook is TriboPay's postback with a unique payment id per request:
authenticated, stored and deduplicated, answered once committed
(webhooks/ingest.py). Prints requests/s of each, their ratio (target >= 60 %)
and checks that every answered postback was stored.

    .venv/bin/python bench/webhook_ingest.py [seconds]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _processes import free_port, start, stop, wait_for_port
from _setup import ROOT, fresh_database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-secret"
POSTBACK_LUA = """
-- Every wrk thread has its own Lua state: the thread number keeps payment ids unique across threads,
-- and the run number (RUN, set below) across the runs of one bench.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"id": "bench-%d-%d-%d", "payment_method": "credit_card", '
    .. '"payment_status": "paid", "amount": 5000, "customer": {"phone_number": "+5511987654321", '
    .. '"name": "Ana", "email": "ana@example.com"}}', RUN, thread_id, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def wrk(url: str, seconds: int, *, new_connections: bool, script: Path | None = None) -> tuple[float, int]:
    """Load `url` for `seconds`; returns (requests/s, requests answered). Any non-2xx answer stops the bench."""
    args = ["wrk", "-t2", "-c32", f"-d{seconds}s", url]
    if new_connections:  # a new connection per request, as webhook senders usually open them
        args[1:1] = ["-H", "Connection: close"]
    if script:
        args[1:1] = ["-s", str(script)]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed requests\n{output}")
    answered = int(re.search(r"(\d+) requests in", output).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), answered


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    database_url = fresh_database()
    from webhooks.models import WebhookEvent

    port = free_port()
    temp = Path(tempfile.gettempdir())
    env = {"DJANGO_SETTINGS_MODULE": "bench.bench_settings", "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "CELERY_BROKER_URL": REDIS_URL, "TRIBOPAY_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "127.0.0.1"}
    web = start([sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                env, temp / "bench-gunicorn.log")
    results = {}
    answered = 0
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/hello", 2, new_connections=False)  # warm-up
        for run, new_connections in enumerate((True, False)):
            script = temp / f"bench-postback-{run}.lua"
            script.write_text(f"RUN = {run}\n{POSTBACK_LUA}")
            hello, _ = wrk(f"{base}/hello", seconds, new_connections=new_connections)
            ingest, count = wrk(f"{base}/api/webhooks/tribopay/?token={SECRET}", seconds,
                                new_connections=new_connections, script=script)
            results[new_connections] = (hello, ingest)
            answered += count
    finally:
        stop(web)
    stored = WebhookEvent.objects.count()
    for new_connections, label in ((True, "a new connection per request"), (False, "keep-alive")):
        hello, ingest = results[new_connections]
        print(f"{label}:")
        print(f"  hello-world view   {hello:.0f} requests/s")
        print(f"  TriboPay webhook   {ingest:.0f} requests/s (authenticated, stored, deduplicated)")
        print(f"  ratio              {ingest / hello:.0%} (target >= 60%)")
    print(f"postbacks answered {answered}, stored {stored} (every answered one must be stored)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
