#!/usr/bin/env python3
"""Validates deploy/k8s without a cluster (`make test` runs it).

Every manifest of the base and of each overlay is checked against the Kubernetes schemas
(kubernetes-validate, strict: unknown fields refused) or, for KEDA's ScaledObject and
TriggerAuthentication, against the schemas in deploy/k8s/schemas. Then what no schema can see:
every worker binary has a Deployment with probes on its telemetry port, resources and a
non-root user, and a ScaledObject on its own queue; the references between objects resolve
(scale targets, authentication, ConfigMap and Secret names, Service selectors, the overlay's
files, images, replicas). Exits 1 with every problem listed.
"""

import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent
K8S_VERSION = "1.30.0"
WORKERS = ["journal", "sync", "matching", "status", "review", "crm", "watches", "writeback"]
# Binaries and the port their telemetry answers on (README, "Configuration").
BINARIES = {"matterhook-receiver": 8080, "matterhook-api": 8081, "matterhook-scheduler": 9100}
BINARIES.update({f"matterhook-worker-{w}": 9100 for w in WORKERS})
KEDA = {
    "ScaledObject": "keda-scaledobject.json",
    "TriggerAuthentication": "keda-triggerauthentication.json",
}
# KEDA scalers' metadata matterhook uses, with the fields each needs (keda.sh/docs/scalers).
SCALERS = {
    "rabbitmq": {"required": {"queueName", "mode", "value"}, "mode": {"QueueLength", "MessageRate"}},
    "postgresql": {"required": {"query", "targetQueryValue"}},
}
AUTH_PARAMETERS = {"rabbitmq": {"host"}, "postgresql": {"connection"}}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization(directory):
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def resources(directory, seen=None):
    """Every object of a kustomization, following directory resources."""
    objects = []
    for entry in kustomization(directory).get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects += resources(path)
        elif path.is_file():
            objects += [(path.relative_to(ROOT), d) for d in load(path)]
        else:
            problem(directory.relative_to(ROOT), f"resource {entry} does not exist")
    return objects


def validate_schema(where, doc):
    kind = doc.get("kind")
    if kind in KEDA:
        schema = json.loads((ROOT / "schemas" / KEDA[kind]).read_text())
        for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            path = "/".join(str(p) for p in error.absolute_path)
            problem(where, f"{kind} {path}: {error.message}")
        return
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = "/".join(str(p) for p in e.absolute_path)
        problem(where, f"{kind} {path}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        problem(where, f"no schema for {doc.get('apiVersion')} {kind}")


def check_base(objects):
    by_kind = {}
    for _, doc in objects:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    config = set(by_kind.get("ConfigMap", {}))
    for binary, port in BINARIES.items():
        d = deployments.get(binary)
        if d is None:
            problem("base", f"no Deployment for {binary}")
            continue
        pod = d["spec"]["template"]["spec"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            problem(binary, "the pod does not run as non-root")
        [c] = pod["containers"]
        if c.get("command") != [binary]:
            problem(binary, f"runs {c.get('command')}, not {binary}")
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http") != port:
            problem(binary, f"its telemetry port is {port}, the container declares {ports}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = c.get(probe, {}).get("httpGet", {})
            if got.get("path") != path or got.get("port") not in ("http", port):
                problem(binary, f"{probe} is not GET {path} on its telemetry port")
        res = c.get("resources", {})
        if not (res.get("requests") and res.get("limits")):
            problem(binary, "no resource requests and limits")
        for source in c.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"]["name"] not in config:
                problem(binary, f"ConfigMap {source['configMapRef']['name']} is not in the base")
        selector = d["spec"]["selector"]["matchLabels"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        if any(labels.get(k) != v for k, v in selector.items()):
            problem(binary, "its selector does not match its pod labels")
        pdbs = [
            p for p in by_kind.get("PodDisruptionBudget", {}).values()
            if p["spec"]["selector"]["matchLabels"] == selector
        ]
        if len(pdbs) != 1:
            problem(binary, f"{len(pdbs)} PodDisruptionBudgets select it (one wanted)")
    for name in ("matterhook-receiver", "matterhook-api"):
        service = by_kind.get("Service", {}).get(name)
        if service is None:
            problem("base", f"no Service for {name}")
        elif name in deployments and service["spec"]["selector"] != deployments[name]["spec"]["selector"]["matchLabels"]:
            problem(name, "its Service does not select its pods")
    hpa = by_kind.get("HorizontalPodAutoscaler", {}).get("matterhook-receiver")
    if hpa is None or hpa["spec"]["metrics"][0]["resource"]["name"] != "cpu":
        problem("base", "the receiver is not scaled on CPU")
    if "matterhook-migrate" not in by_kind.get("Job", {}):
        problem("base", "no migration Job")
    auths = by_kind.get("TriggerAuthentication", {})
    scaled = by_kind.get("ScaledObject", {})
    for worker in WORKERS:
        name = f"matterhook-worker-{worker}"
        so = next((s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == name), None)
        if so is None:
            problem(name, "no ScaledObject scales it")
            continue
        queues = [t["metadata"].get("queueName") for t in so["spec"]["triggers"] if t["type"] == "rabbitmq"]
        if queues != [f"matterhook.{worker}"]:
            problem(name, f"scales on {queues}, not its own queue matterhook.{worker}")
        if worker == "sync" and not any(t["type"] == "postgresql" for t in so["spec"]["triggers"]):
            problem(name, "does not scale on its backlog in PostgreSQL (sync_queue)")
    for so in scaled.values():
        where = so["metadata"]["name"]
        if so["spec"]["scaleTargetRef"]["name"] not in deployments:
            problem(where, "scales a Deployment that does not exist")
        for t in so["spec"]["triggers"]:
            rule = SCALERS.get(t["type"])
            if rule is None:
                problem(where, f"unexpected scaler {t['type']}")
                continue
            missing = rule["required"] - set(t["metadata"])
            if missing:
                problem(where, f"{t['type']} trigger lacks {sorted(missing)}")
            if "mode" in rule and t["metadata"].get("mode") not in rule["mode"]:
                problem(where, f"rabbitmq mode {t['metadata'].get('mode')}")
            auth = auths.get(t.get("authenticationRef", {}).get("name"))
            if auth is None:
                problem(where, f"{t['type']} trigger's TriggerAuthentication does not exist")
                continue
            given = {r["parameter"] for r in auth["spec"].get("secretTargetRef", [])}
            if not AUTH_PARAMETERS[t["type"]] <= given:
                problem(where, f"{auth['metadata']['name']} gives {sorted(given)}, {t['type']} needs {sorted(AUTH_PARAMETERS[t['type']])}")
    return by_kind


def check_overlay(directory, base_kinds):
    where = directory.relative_to(ROOT)
    k = kustomization(directory)
    images = {c["image"] for d in base_kinds.get("Deployment", {}).values() for c in d["spec"]["template"]["spec"]["containers"]}
    for image in k.get("images", []):
        if image["name"] not in images:
            problem(where, f"image {image['name']} is used by no container")
    for r in k.get("replicas", []):
        if r["name"] not in base_kinds.get("Deployment", {}):
            problem(where, f"replicas for {r['name']}, which is not a Deployment")
    for generator in k.get("configMapGenerator", []):
        if generator.get("behavior") == "merge" and generator["name"] not in base_kinds.get("ConfigMap", {}):
            problem(where, f"merges into ConfigMap {generator['name']}, which the base lacks")
    secrets = set()
    for generator in k.get("secretGenerator", []):
        secrets.add(generator["name"])
        for env in generator.get("envs", []):
            path = directory / env
            example = directory / f"{env}.example"
            if not (path.exists() or example.exists()):
                problem(where, f"secret env file {env} has no {env}.example")
            source = path if path.exists() else example
            keys = {
                line.split("=", 1)[0]
                for line in source.read_text().splitlines()
                if line and not line.startswith("#")
            }
            wanted = {r["key"] for a in base_kinds.get("TriggerAuthentication", {}).values() for r in a["spec"].get("secretTargetRef", [])}
            wanted |= {"DATABASE_URL", "AMQP_URL", "MATTERHOOK_ENCRYPTION_KEY", "CLIO_CLIENT_ID", "CLIO_CLIENT_SECRET"}
            if not wanted <= keys:
                problem(where, f"{source.name} lacks {sorted(wanted - keys)}")
    used = {
        s["secretRef"]["name"]
        for d in base_kinds.get("Deployment", {}).values()
        for c in d["spec"]["template"]["spec"]["containers"]
        for s in c.get("envFrom", [])
        if "secretRef" in s
    }
    for name in used - secrets:
        problem(where, f"Secret {name} is used but not generated")


def main():
    base = ROOT / "base"
    objects = resources(base)
    for path, doc in objects:
        validate_schema(path, doc)
    kinds = check_base(objects)
    overlays = sorted(p for p in (ROOT / "overlays").iterdir() if p.is_dir())
    for overlay in overlays:
        for path, doc in resources(overlay):
            if not str(path).startswith("base"):
                validate_schema(path, doc)
        check_overlay(overlay, kinds)
    if problems:
        print(f"deploy/k8s: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"deploy/k8s: {len(objects)} objects in the base and {len(overlays)} overlay(s) valid (Kubernetes {K8S_VERSION}, KEDA v2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
