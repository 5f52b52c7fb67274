"""GET /healthz: 200 when the database, broker and cache answer, else 503."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from smsgate.celery import app as celery_app


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_cache() -> None:
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return what was stored")


CHECKS = {"database": _check_database, "broker": _check_broker, "cache": _check_cache}


def run_checks() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means unhealthy, and says why
            results[name] = f"error: {type(exc).__name__}: {exc}"[:200]
    return results


def healthz(request):
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "healthy" if healthy else "unhealthy", "checks": checks},
                        status=200 if healthy else 503)
