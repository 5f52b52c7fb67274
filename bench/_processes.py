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


def group_rss_mib(process: subprocess.Popen) -> float:
    """Resident memory of a process and its children (prefork workers), in MiB."""
    total = 0
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            if os.getpgid(int(pid_dir.name)) != process.pid:
                continue
            for line in (pid_dir / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return total / 1024


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
