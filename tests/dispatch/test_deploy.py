"""deploy/: docker-compose and the Kubernetes manifests cannot run here, so they are parsed and checked against the
code: every command is a real ``closerr`` command with real options, every CLOSERR_ variable is a setting, ports
agree across command, container, Dockerfile, probes and Prometheus, and secrets stay out of ConfigMaps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import SecretStr

from closerr.cli import app as cli_app
from config.settings import Settings
from engine.facade import Engine
from metrics.call import ACTIVE_CALLS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLI: Any = typer.main.get_command(cli_app)  # a click-style group (typer may vendor click)


def k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def check_command(command: list[str]) -> dict[str, str]:
    """The command must parse as the CLI would; answers its options."""
    assert command[0] == "closerr"
    sub = CLI.commands[command[1]]
    known = {opt for param in sub.params for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", [])}
    options: dict[str, str] = {}
    args = command[2:]
    i = 0
    while i < len(args):
        assert args[i] in known, f"{command[1]} has no option {args[i]}"
        param = next(p for p in sub.params if args[i] in p.opts + getattr(p, "secondary_opts", []))
        if getattr(param, "is_flag", False):
            options[args[i]] = "true"
            i += 1
        else:
            options[args[i]] = args[i + 1]
            i += 2
    sub.make_context(command[1], list(args))  # click accepts the whole line (types, ranges)
    return options


def check_env(names: list[str]) -> None:
    fields = Settings.model_fields
    for name in names:
        if name.startswith("CLOSERR_"):
            assert name.removeprefix("CLOSERR_").lower() in fields, f"{name} is not a setting"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def test_compose_services_agree_with_cli_and_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "postgres", "prometheus", "grafana"} <= set(services)
    api, worker = services["api"], services["worker"]
    assert api["image"] == worker["image"]
    assert (
        DEPLOY.parent / api["build"]["context"].removeprefix("..").lstrip("/") / api["build"]["dockerfile"]
    ).is_file()
    api_opts, worker_opts = check_command(api["command"]), check_command(worker["command"])
    assert api["command"][1] == "serve" and "--no-worker" in api_opts  # workers are their own service
    assert worker["command"][1] == "worker"
    assert api["ports"] == [f"{api_opts['--port']}:{api_opts['--port']}"]
    assert worker["expose"] == [worker_opts["--port"]]
    for svc in (api, worker):
        check_env(list(svc["environment"]))
        assert svc["environment"]["CLOSERR_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "postgres:5432" in svc["environment"]["CLOSERR_DATABASE_URL"]
    assert worker["deploy"]["replicas"] >= 2
    prom = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["closerr-server"]["static_configs"][0]["targets"] == [f"api:{api_opts['--port']}"]
    assert jobs["closerr-workers"]["dns_sd_configs"][0]["port"] == int(worker_opts["--port"])
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        assert (DEPLOY / volume.split(":")[0]).exists(), volume


def test_dockerfile_exposes_the_ports_and_runs_the_cli() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    exposed = set(re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split())  # type: ignore[union-attr]
    assert {"8000", "8100"} <= exposed
    cmd = yaml.safe_load(re.search(r"^CMD (.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    check_command(cmd)
    assert "HF_HUB_OFFLINE=1" in text  # models come from PyPI packages, never a hub


def test_k8s_manifests_agree_with_cli_settings_and_metrics() -> None:
    docs = k8s_docs()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "closerr-api"), ("Deployment", "closerr-worker"), ("Service", "postgres")} <= kinds
    assert next(d for d in docs if d["metadata"]["name"] == "postgres")["spec"]["type"] == "ExternalName"
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    secret = next(d for d in docs if d["kind"] == "Secret")
    check_env(list(config["data"]) + list(secret["stringData"]))
    secret_fields = {n for n, f in Settings.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)}
    for name in config["data"]:  # no secret in a ConfigMap
        assert name.removeprefix("CLOSERR_").lower() not in secret_fields | {"database_url"}
    for name in secret_fields & {"audit_hmac_key", "twilio_auth_token"}:
        assert f"CLOSERR_{name.upper()}" in secret["stringData"]
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        opts = check_command(container["command"])
        port = int(opts["--port"])
        assert [p["containerPort"] for p in container["ports"]] == [port]
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(port)
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": port}
        check_env([e["name"] for e in container.get("env", [])])
        refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
        assert refs == {config["metadata"]["name"], secret["metadata"]["name"]}
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "closerr-worker"
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == ACTIVE_CALLS._name


def test_health_routes_the_probes_use_exist() -> None:
    from control_api.app import create_app
    from control_api.dispatch.runtime import create_worker_app

    settings = Settings()
    api_paths = {r.path for r in create_app(settings).routes}
    worker_paths = {r.path for r in create_worker_app(settings, Engine(), "127.0.0.1", 8100).routes}
    assert "/health" in api_paths and "/metrics" in api_paths
    assert {"/health", "/metrics", "/media/{carrier:str}", "/carriers/plivo/answer"} <= worker_paths
