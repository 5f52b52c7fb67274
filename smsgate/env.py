"""Strict readers for settings that come from the environment.

A typo in a boolean or a number must stop the process at start-up rather than
silently fall back to a default, so these raise ImproperlyConfigured.
"""

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or NAME_FILE's contents (Docker secrets), or default."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str | None:
    """A rate "N/period" for DRF's throttles (period s, sec, second, m, min, minute, h, hour, d, day); empty: None."""
    raw = env_str(name, default).strip()
    if not raw:
        return None
    if not re.fullmatch(r"[1-9]\d*/(s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?)", raw):
        raise ImproperlyConfigured(f"{name} must look like 1200/min (a positive number / s, min, hour or day), "
                                   f"not {raw!r}")
    return raw


def read_dotenv(path) -> None:
    """Load a .env file into os.environ, parsed as honcho parses it for the processes of `make run`.

    Variables already set in the environment win. A missing file is no error:
    production sets its environment itself.
    """
    from honcho.environ import parse

    try:
        with open(path, encoding="utf-8") as fh:
            values = parse(fh.read())
    except FileNotFoundError:
        return
    for name, value in values.items():
        os.environ.setdefault(name, value)
