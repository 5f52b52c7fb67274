"""Webhook ingest vs a hello-world Django view, on gunicorn with Postgres and Redis.

Both run in the same gunicorn (2 workers, the machine's 2 cores), loaded by
wrk (apt-get install wrk). The webhook is TriboPay's postback with a unique
payment id per request: authenticated, stored, deduplicated, enqueued for
Celery. Prints requests/s of each and the ratio (target >= 60 %).

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
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"id": "bench-%d-%d", "payment_method": "credit_card", '
    .. '"payment_status": "paid", "amount": 5000, "customer": {"phone_number": "+5511987654321", '
    .. '"name": "Ana", "email": "ana@example.com"}}', math.random(1, 1000000000), counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def wrk(url: str, seconds: int, script: Path | None = None) -> float:
    args = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", str(script)]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed requests\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    database_url = fresh_database()
    port = free_port()
    temp = Path(tempfile.gettempdir())
    env = {"DJANGO_SETTINGS_MODULE": "bench.bench_settings", "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "CELERY_BROKER_URL": REDIS_URL, "TRIBOPAY_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "127.0.0.1"}
    web = start([sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--workers", "2", "--bind",
                 f"127.0.0.1:{port}", "--log-level", "warning"], env, temp / "bench-gunicorn.log")
    script = temp / "bench-postback.lua"
    script.write_text(POSTBACK_LUA)
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/hello", 2)  # warm-up
        hello = wrk(f"{base}/hello", seconds)
        ingest = wrk(f"{base}/api/webhooks/tribopay/?token={SECRET}", seconds, script)
    finally:
        stop(web)
    print(f"hello-world view   {hello:.0f} requests/s")
    print(f"TriboPay webhook   {ingest:.0f} requests/s (stored, deduplicated, enqueued)")
    print(f"ratio              {ingest / hello:.0%} (target >= 60%)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
