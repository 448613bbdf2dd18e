#!/usr/bin/env python3
"""Checks the deployment files of deploy/ with real validators, then what no schema can say.

    python3 scripts/check_deploy.py            # everything, including the Redis Cluster example
    python3 scripts/check_deploy.py --no-cluster

* deploy/kubernetes/*.yaml against the Kubernetes OpenAPI schemas bundled with the
  `kubernetes-validate` package (offline, strict: unknown fields are errors);
* deploy/compose.yaml against the compose-spec JSON schema bundled with `check-jsonschema`;
* deploy/systemd/* and deploy/redis-cluster/*.service with `systemd-analyze verify` (any
  diagnostic is a failure; executables are pointed at stand-ins, the units are otherwise as shipped);
* consistency: one Deployment, PodDisruptionBudget and health probes per service, autoscalers for
  pipeline-service and sla-timer-service, each service's Redis user and Secret matching
  deploy/users.acl, one CRM_SHARDS everywhere, the kustomization listing every manifest;
* that each validator rejects a broken copy (so the checks can fail);
* deploy/redis-cluster/check-cluster.sh: the 6-node cluster example, built and probed.

Prints one line per check and "deploy: N passed, M failed"; exits 1 on any failure.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose.yaml"
SYSTEMD = DEPLOY / "systemd"
KUBERNETES_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to work on

# service -> Redis ACL user, as in deploy/users.acl and the README of each service.
SERVICES = {
    "pipeline-service": "pipeline",
    "assignment-service": "assignment",
    "sla-timer-service": "sla",
    "integration-service": "integration",
    "audit-service": "audit",
    "gateway": "gateway",
}
AUTOSCALED = {"pipeline-service", "sla-timer-service"}
UNITS = {"pipeline-service": "pipeline", "assignment-service": "assignment", "sla-timer-service": "sla-timer",
         "integration-service": "integration", "audit-service": "audit", "gateway": "gateway"}


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, problems: list[str] | str | None) -> None:
        """A check passes when it found no problem."""
        if isinstance(problems, str):
            problems = [problems]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems)[:2000])
        else:
            self.passed += 1
            print(f"ok   {name}")


# --- Kubernetes -----------------------------------------------------------------------------------

def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kubernetes_schema_problems(documents: list[dict[str, Any]], where: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, InvalidSchemaError

    problems = []
    for doc in documents:
        name = f"{where}: {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{name}: {path}: {error.message}")
        except (SchemaNotFoundError, InvalidSchemaError) as error:
            problems.append(f"{name}: no schema ({error})")
    return problems


def manifests() -> dict[str, list[dict[str, Any]]]:
    return {path.name: load_documents(path) for path in sorted(KUBERNETES.glob("*.yaml")) if path.name != "kustomization.yaml"}


def by_kind(all_docs: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for docs in all_docs.values() for doc in docs if doc.get("kind") == kind}


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def acl_users() -> dict[str, str]:
    """user -> the first password hash of deploy/users.acl."""
    users = {}
    for line in (DEPLOY / "users.acl").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "user":
            hashes = [word[1:] for word in words[2:] if word.startswith("#")]
            users[words[1]] = hashes[0] if hashes else ""
    return users


def deployment_problems(all_docs: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = []
    deployments = by_kind(all_docs, "Deployment")
    secrets = by_kind(all_docs, "Secret")
    config_maps = by_kind(all_docs, "ConfigMap")
    users = acl_users()
    for service, user in SERVICES.items():
        deployment = deployments.get(service)
        if deployment is None:
            problems.append(f"no Deployment {service}")
            continue
        spec = deployment["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            problems.append(f"{service}: the selector does not match the pod labels")
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        if container.get("command") != [f"/usr/local/bin/{service}"]:
            problems.append(f"{service}: runs {container.get('command')}, not /usr/local/bin/{service}")
        port_names = {port.get("name") for port in container.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in container:
                problems.append(f"{service}: no {probe}")
                continue
            target = container[probe].get("httpGet") or container[probe].get("tcpSocket") or {}
            if target.get("port") not in port_names:
                problems.append(f"{service}: {probe} uses port {target.get('port')!r}, not a named port of the container")
        if service != "gateway":
            paths = {container.get(probe, {}).get("httpGet", {}).get("path") for probe in ("livenessProbe", "readinessProbe")}
            if paths != {"/livez", "/readyz"}:
                problems.append(f"{service}: probes must call /livez and /readyz (CRM_HEALTH_PORT), found {sorted(map(str, paths))}")
        if pod.get("terminationGracePeriodSeconds", 30) <= 30:
            problems.append(f"{service}: terminationGracePeriodSeconds must exceed the 30 s drain")
        env = env_of(container)
        consumer = env.get("CRM_CONSUMER", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if service != "gateway" and consumer != "metadata.name":
            problems.append(f"{service}: CRM_CONSUMER must be the pod name (unique per replica)")
        url = env.get("CRM_REDIS_URL", {}).get("value", "")
        if not re.fullmatch(rf"\$\(CRM_REDIS_SCHEME\)://{user}:\$\(CRM_REDIS_PASSWORD\)@\$\(CRM_REDIS_ADDRESS\)", url):
            problems.append(f"{service}: CRM_REDIS_URL {url!r} does not log in as ACL user {user!r}")
        ref = env.get("CRM_REDIS_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
        secret = secrets.get(ref.get("name", ""))
        if secret is None or ref.get("key") not in secret.get("stringData", {}):
            problems.append(f"{service}: the password Secret {ref.get('name')!r} key {ref.get('key')!r} does not exist")
        elif user not in users:
            problems.append(f"{service}: ACL user {user!r} is not in deploy/users.acl")
        elif hashlib.sha256(secret["stringData"][ref["key"]].encode()).hexdigest() != users[user]:
            problems.append(f"{service}: Secret {ref['name']} does not hold the password of {user!r} in deploy/users.acl")
        for source in container.get("envFrom", []):
            name = source.get("configMapRef", {}).get("name")
            if name and name not in config_maps:
                problems.append(f"{service}: ConfigMap {name!r} does not exist")
    return problems


def budget_and_scaling_problems(all_docs: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = []
    deployments = by_kind(all_docs, "Deployment")
    budgets = by_kind(all_docs, "PodDisruptionBudget")
    autoscalers = by_kind(all_docs, "HorizontalPodAutoscaler")
    for service in SERVICES:
        labels = deployments.get(service, {}).get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        covering = [b for b in budgets.values() if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        if len(covering) != 1:
            problems.append(f"{service}: {len(covering)} PodDisruptionBudgets select its pods, expected 1")
        replicas = deployments.get(service, {}).get("spec", {}).get("replicas", 1)
        if replicas < 2:
            problems.append(f"{service}: {replicas} replica(s) leave no consumer during a drain")
    scaled = {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values() if a["spec"]["scaleTargetRef"]["kind"] == "Deployment"}
    for name in scaled - set(deployments):
        problems.append(f"an autoscaler targets Deployment {name!r}, which does not exist")
    if scaled & set(deployments) != AUTOSCALED:
        problems.append(f"autoscaled: {sorted(scaled)}, expected {sorted(AUTOSCALED)}")
    return problems


def kustomization_problems() -> list[str]:
    listed = set(yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text()).get("resources", []))
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    return [f"kustomization.yaml does not list {name}" for name in sorted(present - listed)] + \
           [f"kustomization.yaml lists {name}, which does not exist" for name in sorted(listed - present)]


# --- compose --------------------------------------------------------------------------------------

def compose_schema_problems(path: Path) -> list[str]:
    result = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
                            capture_output=True, text=True)
    return [] if result.returncode == 0 else [(result.stdout + result.stderr).strip()]


def compose_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    services = compose.get("services", {})
    for service, user in SERVICES.items():
        spec = services.get(service)
        if spec is None:
            problems.append(f"no service {service}")
            continue
        url = str(spec.get("environment", {}).get("CRM_REDIS_URL", ""))
        if not url.startswith(f"redis://{user}:"):
            problems.append(f"{service}: CRM_REDIS_URL does not log in as ACL user {user!r}")
        if "healthcheck" not in spec:
            problems.append(f"{service}: no healthcheck")
        if spec.get("command") != [f"/usr/local/bin/{service}"]:
            problems.append(f"{service}: runs {spec.get('command')}")
        if "CRM_CONSUMER" in spec.get("environment", {}):
            problems.append(f"{service}: a fixed CRM_CONSUMER breaks --scale (each container needs its own)")
    return problems


# --- one CRM_SHARDS -------------------------------------------------------------------------------

def shard_counts(all_docs: dict[str, list[dict[str, Any]]], compose: dict[str, Any]) -> dict[str, str]:
    counts = {}
    for name, config in by_kind(all_docs, "ConfigMap").items():
        if "CRM_SHARDS" in config.get("data", {}):
            counts[f"kubernetes ConfigMap {name}"] = str(config["data"]["CRM_SHARDS"])
    for service, spec in compose.get("services", {}).items():
        if "CRM_SHARDS" in spec.get("environment", {}):
            counts[f"compose {service}"] = str(spec["environment"]["CRM_SHARDS"])
    for env_file in sorted((DEPLOY / "env").glob("*.env")):
        for line in env_file.read_text().splitlines():
            if line.startswith("CRM_SHARDS="):
                counts[f"env/{env_file.name}"] = line.split("=", 1)[1].strip()
    return counts


# --- systemd --------------------------------------------------------------------------------------

def systemd_problems(units: list[Path]) -> list[str]:
    """`systemd-analyze verify` of copies whose /usr/local/bin executables are stand-ins."""
    with tempfile.TemporaryDirectory(prefix="nexus-crm-units.") as tmp:
        bin_dir = Path(tmp) / "bin"
        bin_dir.mkdir()
        copies = []
        for unit in units:
            text = unit.read_text()
            for exe in set(re.findall(r"/usr/local/bin/([A-Za-z0-9_.-]+)", text)):
                stand_in = bin_dir / exe
                if not stand_in.exists():
                    stand_in.symlink_to(shutil.which("true") or "/bin/true")
            text = text.replace("/usr/local/bin/", f"{bin_dir}/")
            copy_path = Path(tmp) / unit.name
            copy_path.write_text(text)
            copies.append(str(copy_path))
        result = subprocess.run(["systemd-analyze", "verify", *copies], capture_output=True, text=True, cwd=tmp)
        output = (result.stdout + result.stderr).strip()
        # Any diagnostic counts: systemd-analyze exits 0 on unknown keys and bad values.
        return [output.replace(tmp + "/", "")] if result.returncode != 0 or output else []


def unit_coverage_problems() -> list[str]:
    problems = []
    for service, unit in UNITS.items():
        path = SYSTEMD / f"nexus-crm-{unit}.service"
        if not path.exists():
            problems.append(f"no unit for {service}")
            continue
        text = path.read_text()
        if f"ExecStart=/usr/local/bin/{service}\n" not in text:
            problems.append(f"{path.name} does not run /usr/local/bin/{service}")
        if f"EnvironmentFile=/etc/nexus-crm/{service}.env" not in text or not (DEPLOY / "env" / f"{service}.env").exists():
            problems.append(f"{path.name}: its env file deploy/env/{service}.env is missing or not used")
    return problems


# --- the checks can fail --------------------------------------------------------------------------

def mutated(documents: list[dict[str, Any]], change: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    docs = copy.deepcopy(documents)
    change(next(d for d in docs if d["kind"] == "Deployment"))
    return docs


def main(argv: list[str]) -> int:
    report = Report()
    all_docs = manifests()
    for name, docs in all_docs.items():
        report.check(f"kubernetes {name} validates against Kubernetes {KUBERNETES_VERSION} (strict)",
                     kubernetes_schema_problems(docs, name) or (None if docs else "empty"))
    report.check("kubernetes: each service has a Deployment with probes, its own Redis user and Secret", deployment_problems(all_docs))
    report.check("kubernetes: one PodDisruptionBudget per service, ≥ 2 replicas, autoscalers for pipeline and sla-timer",
                 budget_and_scaling_problems(all_docs))
    report.check("kubernetes: kustomization.yaml lists every manifest", kustomization_problems())

    pipeline = load_documents(KUBERNETES / "pipeline-service.yaml")
    typo = mutated(pipeline, lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagee="x"))
    report.check("the Kubernetes validator rejects an unknown container field",
                 None if any("'imagee' was unexpected" in p for p in kubernetes_schema_problems(typo, "typo")) else "accepted")
    wrong_type = mutated(pipeline, lambda d: d["spec"].update(replicas="two"))
    report.check("the Kubernetes validator rejects replicas: \"two\"",
                 None if any("spec.replicas" in p for p in kubernetes_schema_problems(wrong_type, "type")) else "accepted")
    no_probe = {**all_docs, "pipeline-service.yaml": mutated(pipeline, lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe"))}
    report.check("the consistency check rejects a Deployment without a readiness probe",
                 None if any("no readinessProbe" in p for p in deployment_problems(no_probe)) else "accepted")

    compose = yaml.safe_load(COMPOSE.read_text())
    report.check("compose.yaml validates against the compose-spec schema", compose_schema_problems(COMPOSE))
    report.check("compose.yaml: every service, its Redis user, a health check, no fixed consumer name", compose_problems(compose))
    with tempfile.TemporaryDirectory() as tmp:
        broken = Path(tmp) / "compose.yaml"
        broken.write_text(COMPOSE.read_text().replace("  stop_grace_period: 40s", "  stop_grace_periode: 40s"))
        report.check("the compose validator rejects an unknown service key",
                     None if any("stop_grace_periode" in p for p in compose_schema_problems(broken)) else "accepted")

    counts = shard_counts(all_docs, compose)
    report.check("one CRM_SHARDS in every env file, compose and the ConfigMap",
                 None if len(set(counts.values())) == 1 else f"{counts}")

    if shutil.which("systemd-analyze"):
        units = sorted(SYSTEMD.iterdir()) + sorted((DEPLOY / "redis-cluster").glob("*.service"))
        report.check(f"systemd-analyze verify accepts the {len(units)} units", systemd_problems(units))
        report.check("a systemd unit per service, with its env file", unit_coverage_problems())
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "nexus-crm-pipeline.service"
            bad.write_text((SYSTEMD / "nexus-crm-pipeline.service").read_text().replace("Restart=on-failure", "Restart=sometimes"))
            report.check("systemd-analyze verify rejects Restart=sometimes",
                         None if any("sometimes" in p for p in systemd_problems([bad])) else "accepted")
    else:
        report.check("systemd-analyze is installed", "not found (Debian package systemd)")

    if "--no-cluster" not in argv:
        result = subprocess.run(["bash", str(DEPLOY / "redis-cluster" / "check-cluster.sh")], capture_output=True, text=True)
        summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
        report.check(f"the Redis Cluster example ({summary})",
                     None if result.returncode == 0 else [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("ok ")])

    print(f"deploy: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
