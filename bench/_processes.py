"""Starting and measuring the processes a benchmark needs (celery worker, gunicorn)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a process in its own group (so its children are stopped with it), output to `log`."""
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=open(log, "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _group_pids(process: subprocess.Popen) -> list[int]:
    pids = []
    for pid_dir in Path("/proc").iterdir():
        try:
            if pid_dir.name.isdigit() and os.getpgid(int(pid_dir.name)) == process.pid:
                pids.append(int(pid_dir.name))
        except (OSError, ProcessLookupError):
            continue
    return pids


def group_rss_mib(process: subprocess.Popen) -> float:
    """Resident memory of a process and its children (prefork workers), in MiB."""
    total = 0
    for pid in _group_pids(process):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pids) -> float:
    """CPU time (user + system) these processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_by_pid(name: str) -> dict[int, float]:
    """CPU seconds used so far by each process whose command name is `name` (e.g. every Postgres process)."""
    used = {}
    for pid_dir in Path("/proc").iterdir():
        try:
            if pid_dir.name.isdigit() and (pid_dir / "comm").read_text().strip() == name:
                used[int(pid_dir.name)] = cpu_seconds([int(pid_dir.name)])
        except OSError:
            continue
    return used


def cpu_since(before: dict[int, float], name: str) -> float:
    """CPU seconds processes named `name` used since `before` (from cpu_by_pid); ones that exited meanwhile are
    not counted."""
    return sum(seconds - before.get(pid, 0) for pid, seconds in cpu_by_pid(name).items())


def wait_until_quiet(busy_below: float = 0.1, timeout: float = 30) -> None:
    """Wait (at most `timeout` seconds) until the machine is busy less than `busy_below` over half a second.

    After a burst of inserts Postgres vacuums and checkpoints for a while; a
    measurement started meanwhile would pay for the previous one.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy_before, total_before = machine_cpu_seconds()
        time.sleep(0.5)
        busy_after, total_after = machine_cpu_seconds()
        if busy_after - busy_before < busy_below * (total_after - total_before):
            return


def group_cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time a process and its children (prefork workers) have used so far."""
    return cpu_seconds(_group_pids(process))


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]  # without guest
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def celery_worker(env: dict, log: Path, concurrency: int = 2) -> subprocess.Popen:
    return start([sys.executable, "-m", "celery", "-A", "smsgate", "worker", "--loglevel=warning",
                  f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"], env, log)


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")
