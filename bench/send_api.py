"""The send API vs a hello-world Django view, on gunicorn with Postgres and Redis; then the bulk API.

Both run in the same gunicorn (gunicorn.conf.py, 2 processes for the
machine's 2 cores), loaded by wrk (apt-get install wrk) with 32 keep-alive
connections, as other systems call the API. Each send is a real
`POST /api/v1/sms/send` with an API key: authenticated, throttled, validated,
stored and committed before its 202, its dispatch task published to Redis
(no worker runs: the messages stay queued).

The machine's speed drifts over tens of seconds, so the two are measured in
alternating rounds, each started on a quiet machine, and compared over all
rounds. Prints requests/s of each and their ratio (target >= 30 %), p50/p99
latency, the CPU each request cost (gunicorn, Postgres, Redis: Postgres and
Redis are shared with anything else running), and checks that every message
answered 202 is in the database, by id.

Bulk: `POST /api/v1/sms/bulk` with 1,000 messages per request, from 2
connections; prints messages/s and the ratio to the single-send rate above
(target >= 20x).

    .venv/bin/python bench/send_api.py [rounds] [seconds per run]
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from _processes import (
    free_port,
    start,
    stop,
    wait_for_port,
)
from _setup import ROOT, fresh_database
from _wrk import Load, measure, wrk

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BULK_SIZE = 1000
# Every wrk thread has its own Lua state: the thread number keeps numbers apart across threads. Each 202's
# message id is kept; done() writes them all to IDS_FILE (set below) to be looked up in the database.
SEND_LUA = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

counter = 0
ids = {}
refused = 0
request = function()
  counter = counter + 1
  local body = string.format('{"phone": "+5511%d%07d", "message": "Your code is %d"}',
    90 + thread_id, counter % 10000000, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = AUTH}, body)
end

response = function(status, headers, body)
  if status == 202 then
    ids[#ids + 1] = body:match('"id":(%d+)')
  else
    refused = refused + 1
  end
end

done = function(summary, latency, requests)
  local out = io.open(IDS_FILE, "w")
  local refusals = 0
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("ids")) do out:write(id, "\\n") end
    refusals = refusals + thread:get("refused")
  end
  out:close()
  io.write(string.format("refused %d\\n", refusals))
end
"""
BULK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = AUTH
wrk.body = BODY
"""


def api_key() -> str:
    from smsgate.models import ApiKey, Tenant

    tenant = Tenant.objects.create(slug="bench", name="Bench", default_region="BR")
    return ApiKey.issue(tenant=tenant, name="bench")[1]


def bulk_body() -> str:
    import json

    return json.dumps({"messages": [{"phone": f"+551198{n:07d}", "message": f"Your code is {n}"}
                                    for n in range(BULK_SIZE)]})


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    database_url = fresh_database()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    from smsgate.models import Message

    auth = f"Bearer {api_key()}"
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="bench-send-"))
    env = {"DJANGO_SETTINGS_MODULE": "bench.bench_settings", "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "CELERY_BROKER_URL": REDIS_URL, "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1",
           "API_RATE_LIMIT": "100000000/min"}  # the throttle runs (its cost is measured) but never refuses
    web = start([sys.executable, "-m", "gunicorn", "smsgate.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                env, temp / "gunicorn.log")
    hello, send, ratios, id_files = Load(), Load(), [], []
    bulk = Load()
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/hello", 2)  # warm-up
        for run in range(1, rounds + 1):
            id_files.append(temp / f"ids-{run}.txt")
            script = temp / f"send-{run}.lua"
            script.write_text(f"AUTH = {auth!r}\nIDS_FILE = {str(id_files[-1])!r}\n{SEND_LUA}")
            hello_rate = measure(hello, web, f"{base}/hello", seconds)
            send_rate = measure(send, web, f"{base}/api/v1/sms/send", seconds, script=script)
            ratios.append(send_rate / hello_rate)
        body = temp / "bulk.json"
        body.write_text(bulk_body())
        script = temp / "bulk.lua"
        script.write_text(f"AUTH = {auth!r}\nBODY = io.open({str(body)!r}):read('*a')\n{BULK_LUA}")
        for _ in range(rounds):
            measure(bulk, web, f"{base}/api/v1/sms/bulk", seconds * 2, connections=2, script=script)
    finally:
        stop(web)
    answered = [int(line) for path in id_files for line in path.read_text().split()]
    stored = Message.objects.filter(pk__in=answered).count()
    print(f"keep-alive, 32 connections ({rounds} alternating rounds of {seconds} s each):")
    print(f"  hello-world view   {hello.per_second:.0f} requests/s, {hello.latency()}, CPU per request: "
          f"gunicorn {hello.cpu_ms(hello.web_cpu):.2f} ms")
    print(f"  POST sms/send      {send.per_second:.0f} requests/s (202, committed), {send.latency()}, "
          f"CPU per request: gunicorn {send.cpu_ms(send.web_cpu):.2f} ms, "
          f"Postgres {send.cpu_ms(send.postgres_cpu):.2f} ms, Redis {send.cpu_ms(send.redis_cpu):.2f} ms")
    print(f"  ratio              {send.per_second / hello.per_second:.1%} (target >= 30 %, stretch 40 %); "
          f"rounds: {' '.join(f'{ratio:.0%}' for ratio in ratios)}")
    print(f"  sends answered 202 {len(answered)}, in the database {stored} (every one must be)")
    messages = bulk.answered * BULK_SIZE
    print(f"bulk, {BULK_SIZE} messages per request, 2 connections ({rounds} runs of {seconds * 2} s):")
    print(f"  POST sms/bulk      {bulk.answered / bulk.seconds:.1f} requests/s = {messages / bulk.seconds:.0f} "
          f"messages/s, {bulk.latency()}, CPU per message: gunicorn {bulk.cpu_ms(bulk.web_cpu) / BULK_SIZE:.3f} ms, "
          f"Postgres {bulk.cpu_ms(bulk.postgres_cpu) / BULK_SIZE:.3f} ms")
    print(f"  bulk / single send {messages / bulk.seconds / send.per_second:.1f}x (target >= 20x)")
    if stored != len(answered):
        raise SystemExit(f"{len(answered) - stored} messages answered 202 are not in the database")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
