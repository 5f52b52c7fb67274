"""The deployment files work as written: a fresh clone without .env, the processes the Procfile defines,
and a Redis that never evicts the broker's queues or the breaker and rate-limit keys."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def load(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


def procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_starts_without_a_dotenv_file():
    services = load("docker-compose.yml")["services"]
    app_services = [name for name, service in services.items() if "build" in service]
    assert sorted(app_services) == ["beat", "release", "web", "worker"]
    for name in app_services:
        assert services[name]["env_file"] == [{"path": ".env", "required": False}], name


def test_compose_runs_the_procfile_processes_after_the_release_step():
    services = load("docker-compose.yml")["services"]
    processes = procfile()
    assert services["web"]["command"] == processes["web"]
    assert services["beat"]["command"] == processes["beat"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}


def test_compose_redis_never_evicts():
    assert "--maxmemory-policy noeviction" in load("docker-compose.yml")["services"]["redis"]["command"]


def test_render_key_value_never_evicts_and_is_private():
    [key_value] = [s for s in load("render.yaml")["services"] if s["type"] == "keyvalue"]
    assert key_value["maxmemoryPolicy"] == "noeviction"
    assert key_value["ipAllowList"] == []


def test_render_references_point_at_services_that_exist():
    blueprint = load("render.yaml")
    services = {(s["type"], s["name"]) for s in blueprint["services"]}
    databases = {d["name"] for d in blueprint["databases"]}
    for service in blueprint["services"]:
        for var in service.get("envVars", []):
            if "fromService" in var:
                assert (var["fromService"]["type"], var["fromService"]["name"]) in services, var
            if "fromDatabase" in var:
                assert var["fromDatabase"]["name"] in databases, var


def test_render_runs_the_procfile_processes():
    processes = procfile()
    commands = {s["name"]: s.get("startCommand") for s in load("render.yaml")["services"]}
    assert commands["smsgate-web"] == processes["web"]
    assert commands["smsgate-beat"] == processes["beat"]
    assert commands["smsgate-worker"].startswith("celery -A smsgate worker")


def test_no_web_command_logs_query_strings():
    """gunicorn.conf.py's access log leaves the query string (webhook secrets) out; no command line overrides it."""
    commands = [procfile()["web"], load("docker-compose.yml")["services"]["web"]["command"],
                *[s.get("startCommand", "") for s in load("render.yaml")["services"]]]
    for command in commands:
        assert "--access-logformat" not in command and "access_log_format" not in command
        if command.startswith("gunicorn"):
            assert "--config gunicorn.conf.py" in command


def test_the_image_leaves_out_local_settings_and_state():
    """manage.py reads .env: a developer's .env (secrets, DEBUG) must never be baked into the image."""
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv/", "var/"} <= set(ignored)
