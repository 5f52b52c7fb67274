"""Loading a URL of the bench's gunicorn with wrk, and adding up what the runs of one kind of request cost."""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from _processes import cpu_by_pid, cpu_since, group_cpu_seconds, wait_until_quiet


@dataclass
class Load:
    """What runs of one kind of request added up to."""

    answered: int = 0
    seconds: float = 0
    web_cpu: float = 0
    postgres_cpu: float = 0
    redis_cpu: float = 0
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds

    def cpu_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.answered

    def latency(self) -> str:
        return (f"p50 {min(self.p50_ms):.1f}-{max(self.p50_ms):.1f} ms, "
                f"p99 {min(self.p99_ms):.1f}-{max(self.p99_ms):.1f} ms")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url: str, seconds: int, *, connections: int = 32, new_connections: bool = False,
        script: Path | None = None) -> dict:
    """Load `url` for `seconds` (keep-alive unless `new_connections`); returns what wrk measured.

    Any non-2xx answer or refused connection stops the bench.
    """
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if new_connections:  # a new connection per request, as webhook senders usually open them
        args[1:1] = ["-H", "Connection: close"]
    if script:
        args[1:1] = ["-s", str(script)]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output) or re.search(r"refused ([1-9]\d*)", output)
    if failed:
        raise SystemExit(f"{url}: {failed.group(1)} failed requests\n{output}")
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    percentile = {p: _ms(*re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s|m)\b", output).groups()) for p in (50, 99)}
    return {"answered": int(found.group(1)), "seconds": float(found.group(2)) / (1000 if found.group(3) == "ms" else 1),
            "p50": percentile[50], "p99": percentile[99]}


def measure(load: Load, web: subprocess.Popen, url: str, seconds: int, **wrk_args) -> float:
    """Add one wrk run to `load`, on a quiet machine; returns its requests/s."""
    wait_until_quiet()
    web_before, postgres_before = group_cpu_seconds(web), cpu_by_pid("postgres")
    redis_before = cpu_by_pid("redis-server")
    run = wrk(url, seconds, **wrk_args)
    load.answered += run["answered"]
    load.seconds += run["seconds"]
    load.web_cpu += group_cpu_seconds(web) - web_before
    load.postgres_cpu += cpu_since(postgres_before, "postgres")
    load.redis_cpu += cpu_since(redis_before, "redis-server")
    load.p50_ms.append(run["p50"])
    load.p99_ms.append(run["p99"])
    return run["answered"] / run["seconds"]
