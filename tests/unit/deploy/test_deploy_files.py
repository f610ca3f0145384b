"""render.yaml and docker-compose.yml: valid against their schemas, and in step with the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from tests.helpers import REPO, shared_file

from fo_gateway.settings import GatewaySettings
from fo_ingestor.settings import IngestorSettings
from fo_worker.settings import WorkerSettings

SETTINGS = {"ingestor": IngestorSettings, "worker": WorkerSettings, "gateway": GatewaySettings}
BROKER_SECRETS = {"ANGEL_API_KEY", "ANGEL_CLIENT_CODE", "ANGEL_MPIN", "ANGEL_TOTP_SECRET"}
COMMANDS = {"fo-ingestor": "ingestor", "fo-worker": "worker", "fo-gateway": "gateway"}


def env_names(settings_class: type) -> set[str]:
    """The environment variables a settings class reads (pydantic-settings: field names, upper)."""
    return {name.upper() for name in settings_class.model_fields}


ALL_VARS = set().union(*(env_names(cls) for cls in SETTINGS.values()))


def load(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


def validate(document: dict, schema_path: Path, validator_class: type) -> None:
    schema = json.loads(schema_path.read_text())
    errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: e.path)
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        pytest.fail(f"{len(errors)} schema errors; first: {best.message} at {list(best.path)}")


def test_render_blueprint_matches_the_schema() -> None:
    validate(
        load("render.yaml"),
        shared_file("schemas/render-blueprint.schema.json"),
        jsonschema.Draft202012Validator,
    )


def test_compose_file_matches_the_schema() -> None:
    schema = shared_file("schemas/compose-spec.schema.json")
    validate(load("docker-compose.yml"), schema, jsonschema.Draft7Validator)
    validate(load("deploy/compose.angel.yml"), schema, jsonschema.Draft7Validator)


def render_services() -> dict[str, dict]:
    return {
        COMMANDS.get(s.get("dockerCommand", ""), s["name"]): s
        for s in load("render.yaml")["services"]
    }


def render_env(service: dict, groups: dict[str, list[dict]]) -> set[str]:
    keys = set()
    for var in service.get("envVars", []):
        if "fromGroup" in var:
            keys |= {v["key"] for v in groups[var["fromGroup"]]}
        else:
            keys.add(var["key"])
    return keys


def test_every_setting_is_declared_everywhere_and_nothing_else() -> None:
    example = {
        m.group(1)
        for m in re.finditer(r"^([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M)
    }
    assert example == ALL_VARS, f"missing {ALL_VARS - example}, unused {example - ALL_VARS}"

    compose = load("docker-compose.yml")["services"]
    groups = {g["name"]: g["envVars"] for g in load("render.yaml").get("envVarGroups", [])}
    render = render_services()
    for service, cls in SETTINGS.items():
        wanted = env_names(cls)
        in_compose = set(compose[service]["environment"])
        assert in_compose == wanted, f"compose {service}: {wanted ^ in_compose}"
        in_render = render_env(render[service], groups)
        assert in_render == wanted, f"render {service}: {wanted ^ in_render}"


def test_render_blueprint_is_production_shaped() -> None:
    blueprint = load("render.yaml")
    services = blueprint["services"]
    names = {s["name"] for s in services}
    keyvalue = [s for s in services if s["type"] == "keyvalue"]
    assert keyvalue and all(s["maxmemoryPolicy"] == "noeviction" for s in keyvalue)
    assert all(s["ipAllowList"] == [] for s in keyvalue), "Key Value must stay private"
    for service in services:
        if service["type"] == "worker":
            assert service["plan"] != "free", "background workers have no free plan"
        if service["type"] == "web":
            assert service["healthCheckPath"] == "/health"
        for var in service.get("envVars", []):
            if "fromService" in var:
                assert var["fromService"]["name"] in names
            if var.get("key") in BROKER_SECRETS:
                assert var.get("sync") is False, "broker credentials are never in the file"
            if var.get("key") == "SECRET_KEY":
                # Generated once for the gateway; the ingestor shares the gateway's value.
                assert var.get("generateValue") is True or var["fromService"] == {
                    "type": "web",
                    "name": "fo-gateway",
                    "envVarKey": "SECRET_KEY",
                }


def test_compose_is_scalable_and_waits_for_redis() -> None:
    services = load("docker-compose.yml")["services"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "noeviction" in services["redis"]["command"]
    for name in SETTINGS:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "container_name" not in services[name]
    assert "ports" not in services["worker"] and services["worker"]["deploy"]["replicas"] >= 1
    assert services["gateway"]["ports"] == ["8000:8000"]
    assert services["ingestor"]["environment"]["FEED"].startswith("${FEED:-simulator")


def declared_commands() -> set[str]:
    commands = {s["dockerCommand"] for s in load("render.yaml")["services"] if "dockerCommand" in s}
    for service in load("docker-compose.yml")["services"].values():
        if "command" in service and service.get("image") != "redis:7.2-alpine":
            commands.add(service["command"][0])
    dockerfile = (REPO / "deploy/Dockerfile").read_text()
    commands.add(json.loads(re.search(r"^CMD (\[.*\])", dockerfile, re.M).group(1))[0])
    return commands


@pytest.mark.parametrize("command", sorted(declared_commands()))
def test_every_declared_command_is_a_real_entry_point(command: str) -> None:
    executable = shutil.which(command, path=str(Path(sys.executable).parent))
    assert executable, f"{command} is not installed as a console script"
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
