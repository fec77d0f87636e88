"""deploy/ (issue #15): the Compose file and the Kubernetes manifests are valid against their
schemas, and say what a deployment of roombot needs: two replicas on one PostgreSQL, the schema
migrated once by `roombot db upgrade`, probes on /healthz, settings from Secret references.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.config import _FIELD_BY_ENV
from tests.deploy_schemas import (
    COMPOSE_FILE,
    KUBERNETES_DIR,
    compose_problems,
    kubernetes_documents,
    kubernetes_problems,
)

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "ACS_CONNECTION_STRING",
}
MIGRATE = ["roombot", "db", "upgrade"]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return document


def _kinds() -> dict[str, dict[str, Any]]:
    return {document["kind"]: document for _, document in kubernetes_documents()}


def _image_uid() -> str:
    (user,) = re.findall(r"^USER (\d+):", (ROOT / "Dockerfile").read_text(), flags=re.M)
    return user


def test_the_migration_command_is_one_roombot_has() -> None:
    parser, loaded = build_parser("db")
    args = parser.parse_args(MIGRATE[1:])
    assert args.command == "db"
    assert "db" in loaded


def test_compose_is_valid_against_the_compose_specification() -> None:
    assert compose_problems() == []


def test_compose_runs_two_replicas_on_one_postgresql_after_one_migration() -> None:
    services = _compose()["services"]
    roombot, migrate, postgres = services["roombot"], services["migrate"], services["postgres"]
    assert roombot["deploy"]["replicas"] == 2
    assert postgres["image"].startswith("postgres:")
    for service in (roombot, migrate):
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in url
        assert (COMPOSE_FILE.parent / service["build"]["context"] / "Dockerfile").is_file()
    assert migrate["command"] == MIGRATE
    assert migrate["restart"] == "no"
    assert roombot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert roombot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "ports" not in roombot  # two replicas cannot share a host port: the proxy has it
    assert services["proxy"]["ports"] == ["3000:3000"]
    assert "roombot:3000" in services["proxy"]["command"]


def test_the_compose_env_example_names_only_real_settings() -> None:
    example = (COMPOSE_FILE.parent / "roombot.env.example").read_text(encoding="utf-8")
    names = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"SLACK_BOT_TOKEN", "ACS_CONNECTION_STRING", "ACS_ENDPOINT"} <= names
    assert names <= set(_FIELD_BY_ENV), names - set(_FIELD_BY_ENV)


def test_kubernetes_manifests_are_valid_against_the_api_schemas() -> None:
    assert {"Deployment", "Service", "Job", "ConfigMap"} <= set(_kinds())
    assert kubernetes_problems() == []


def test_a_broken_manifest_or_compose_file_is_refused(tmp_path: Path) -> None:
    """The validators can fail: a misspelt field is caught by each."""
    shutil.copy(KUBERNETES_DIR / "deployment.yaml", tmp_path / "deployment.yaml")
    text = (tmp_path / "deployment.yaml").read_text()
    (tmp_path / "deployment.yaml").write_text(text.replace("periodSeconds", "periodSecond", 1))
    assert any("periodSecond" in p for p in kubernetes_problems(tmp_path))
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE_FILE.read_text().replace("replicas: 2", "replica: 2"))
    assert compose_problems(broken)


def test_the_deployment_probes_healthz_and_runs_as_the_images_user() -> None:
    deployment = _kinds()["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 3000}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == _image_uid()
    service = _kinds()["Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_settings_come_from_secret_references_never_literals() -> None:
    (container,) = _kinds()["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert set(env) <= set(_FIELD_BY_ENV), set(env) - set(_FIELD_BY_ENV)
    assert set(env) >= SECRETS
    for name in SECRETS:
        assert "value" not in env[name], name
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "roombot", name
    required = {n for n in env if not env[n]["valueFrom"].get("secretKeyRef", {}).get("optional")}
    assert required >= {"DATABASE_URL", "SLACK_BOT_TOKEN"}
    # Either way to reach ACS may be absent: a key for HMAC or an endpoint for Entra ID.
    assert env["ACS_CONNECTION_STRING"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env["ACS_ENDPOINT"]["valueFrom"]["configMapKeyRef"]["optional"] is True


def test_the_migration_job_runs_db_upgrade_once() -> None:
    job = _kinds()["Job"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == MIGRATE
    assert pod["restartPolicy"] == "Never"
    assert [e["name"] for e in container["env"]] == ["DATABASE_URL"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "roombot"
    assert str(pod["securityContext"]["runAsUser"]) == _image_uid()


@pytest.mark.parametrize("path", sorted(KUBERNETES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_no_manifest_carries_a_secret_value(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "kind: Secret" not in text  # the Secret is made by hand, never committed
    assert not re.search(r"xox[bpa]-\w|accesskey=\w", text.replace("accesskey=…", ""))
