"""What the API throttles cost each request, against a real Redis, in one process.

Prints per check: the median and 99th percentile of its wall time (which
moves with the machine's load) and the CPU time this process spent on it
(steadier on a shared machine), of:
- the per-key rate limit (ApiKeyRateThrottle.allow_request) for `calls`
  requests that all pass (API_RATE_LIMIT set to `calls`/hour), then for `calls`
  more that are refused (the key at its limit);
- the failed-authentication check every request carrying a key makes before
  the key is looked up (FailedAuthThrottle.wait_before_trying);
- for scale, a bare Redis round trip (PING) from the same client.

No database: the requests are stand-ins carrying an (unsaved) API key.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/api_throttle.py [calls]
"""

import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")


def timed(check, calls: int) -> tuple[list[float], float, list]:
    """Microseconds each call of check() took, CPU microseconds per call, and what it answered."""
    took, answers = [], []
    cpu_started = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        answers.append(check())
        took.append((time.perf_counter() - started) * 1e6)
    return took, (time.process_time() - cpu_started) * 1e6 / calls, answers


def report(name: str, took: list[float], cpu: float) -> None:
    p99 = statistics.quantiles(took, n=100)[98]
    print(f"{name:<52} median {statistics.median(took):6.0f} µs  p99 {p99:6.0f} µs  CPU {cpu:5.0f} µs"
          f"  ({len(took)} calls)")


def main(calls: int) -> None:
    import django

    django.setup()
    from rest_framework.settings import api_settings

    from smsgate.api.auth import ApiClient, ApiKeyRateThrottle
    from smsgate.api.throttling import FailedAuthThrottle
    from smsgate.models import ApiKey, Tenant
    from smsgate.sending.resilience import PREFIX, redis_client

    client = redis_client()
    for key in client.scan_iter(f"{PREFIX}throttle_*"):
        client.delete(key)
    ApiKeyRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": f"{calls}/hour"}
    api_key = ApiKey(pk=10**9, tenant=Tenant(pk=10**9, slug="bench"))
    request = SimpleNamespace(user=ApiClient(api_key), META={"REMOTE_ADDR": "192.0.2.1"})

    throttle = ApiKeyRateThrottle()
    *allowed, answers = timed(lambda: throttle.allow_request(request, None), calls)
    assert all(answers), "a request under the limit was refused"
    report("per-key limit, request allowed", *allowed)
    *refused, answers = timed(lambda: throttle.allow_request(request, None), calls)
    assert sum(answers) < calls * 0.05, "the key's limit did not hold"
    report("per-key limit, key at its limit (refused)", *refused)

    failures = FailedAuthThrottle()
    *checked, answers = timed(lambda: failures.wait_before_trying(request), calls)
    assert not any(answers)
    report("failed-authentication check (address not blocked)", *checked)

    report("Redis PING (one round trip)", *timed(client.ping, calls)[:2])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
