#!/usr/bin/env python3
"""Least secrets per workload: every Deployment and Job of the rendered manifests mounts exactly the
Secrets its target reads, and every mounted file is one the process is told to read (a `*_FILE`
variable), and the other way round.

What each target reads is decided in bin/ovice-slack/src/serve.rs (`Resolved::from_args`): the
database for every target but the gateway, the token encryption keys for integration-config and
account-links, the Slack client secret for account-links, a service key for every target that calls
another, the key set for every target another calls; in the microservices form each workload also
has its own certificate (mutual TLS). The table below says the same per workload.

usage: check-deploy-secrets.py OVERLAY RENDERED.yaml
"""
import sys

import yaml

# The files each Secret or ConfigMap provides (secret.example.yaml; the TLS Secrets are cert-manager's,
# cert-manager.example.yaml).
TLS_FILES = ("tls.crt", "tls.key", "ca.crt")
FILES = {
    "ovice-slack-jwt": ("jwt-secret",),
    "ovice-slack-database": ("database-url",),
    "ovice-slack-encryption": ("encryption-keys",),
    "ovice-slack-slack-app": ("slack-client-secret", "slack-signing-secret"),
    "ovice-slack-service-key-gateway": ("service-key.pem",),
    "ovice-slack-service-key-account-links": ("service-key.pem",),
    "ovice-slack-service-key-delivery": ("service-key.pem",),
    "ovice-slack-service-keys": ("service-keys.json",),
    "ovice-slack-tls-gateway": TLS_FILES,
    "ovice-slack-tls-integration-config": TLS_FILES,
    "ovice-slack-tls-account-links": TLS_FILES,
    "ovice-slack-tls-delivery": TLS_FILES,
}

USES = {
    "monolith": {
        # Every target; its service key is made in the data dir, SQLite is on the volume.
        "ovice-slack": {"ovice-slack-jwt", "ovice-slack-encryption", "ovice-slack-slack-app"},
    },
    "microservices": {
        # Each also has its own certificate for mutual TLS (OVICE_SLACK_TLS_*_FILE).
        "gateway": {"ovice-slack-jwt", "ovice-slack-service-key-gateway", "ovice-slack-tls-gateway"},
        "integration-config": {
            "ovice-slack-jwt", "ovice-slack-database", "ovice-slack-encryption", "ovice-slack-service-keys",
            "ovice-slack-tls-integration-config",
        },
        "account-links": {
            "ovice-slack-jwt", "ovice-slack-database", "ovice-slack-encryption", "ovice-slack-slack-app",
            "ovice-slack-service-key-account-links", "ovice-slack-service-keys", "ovice-slack-tls-account-links",
        },
        "delivery": {
            "ovice-slack-jwt", "ovice-slack-database", "ovice-slack-service-key-delivery",
            "ovice-slack-service-keys", "ovice-slack-tls-delivery",
        },
        "ovice-slack-migrate": {"ovice-slack-database"},
    },
}


def pod_spec(doc):
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec", {})


def main(overlay, path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    expected = USES[overlay]
    errors, seen = [], set()
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            continue
        name = doc["metadata"]["name"]
        seen.add(name)
        spec = pod_spec(doc)
        mounted = {}  # source name -> the mount path of its volume
        volume_paths = {}
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for m in c.get("volumeMounts", []):
                volume_paths[m["name"]] = m["mountPath"].rstrip("/")
        for v in spec.get("volumes", []):
            sources = []
            if "secret" in v:
                sources.append(v["secret"]["secretName"])
            for s in v.get("projected", {}).get("sources", []):
                for kind in ("secret", "configMap"):
                    if kind in s:
                        sources.append(s[kind]["name"])
            for source in sources:
                mounted[source] = volume_paths.get(v["name"])
        for c in spec.get("containers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    errors.append(f"{name}: {e['name']} takes Secret {ref['name']} as an environment value; mount it as a file")
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    errors.append(f"{name}: envFrom Secret {e['secretRef']['name']}; mount it as a file")
        secrets = {s for s in mounted if s in FILES}
        want = expected.get(name)
        if want is None:
            errors.append(f"{name}: no entry in the table of what each workload uses")
            continue
        for extra in sorted(secrets - want):
            errors.append(f"{name}: mounts {extra}, which its target does not use")
        for missing in sorted(want - secrets):
            errors.append(f"{name}: does not mount {missing}, which its target needs")
        # Every mounted file is read (a *_FILE variable points at it), and every *_FILE is mounted.
        files = {f"{mounted[s]}/{f}" for s in secrets if mounted[s] for f in FILES[s]}
        told = {}
        for c in spec.get("containers", []):
            variables = {}
            for e in c.get("envFrom", []):
                if "configMapRef" in e:
                    variables.update(config_maps.get(e["configMapRef"]["name"], {}))
            variables.update({e["name"]: e.get("value") for e in c.get("env", [])})
            told.update({k: v for k, v in variables.items() if k.endswith("_FILE") and v})
        for var, file in sorted(told.items()):
            if file not in files:
                errors.append(f"{name}: {var}={file} is not a mounted file")
        for file in sorted(files - set(told.values())):
            errors.append(f"{name}: mounts {file}, and no *_FILE variable reads it")
    for missing in sorted(set(expected) - seen):
        errors.append(f"{missing}: expected in the {overlay} overlay, not rendered")
    for e in errors:
        print(f"least secrets ({overlay}): {e}")
    if errors:
        sys.exit(1)
    print(f"least secrets ({overlay}): {len(seen)} workloads mount only what they use")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
