#!/usr/bin/env bash
# Renders both Kubernetes overlays, checks that each workload mounts only the Secrets it uses,
# validates every object against the Kubernetes schemas, and runs checkov on the rendered manifests.
set -euo pipefail
cd "$(dirname "$0")/../deploy/kubernetes"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for overlay in monolith microservices; do
  kubectl kustomize "overlays/$overlay" > "$out/$overlay.yaml"
  echo "rendered $overlay: $(grep -c '^kind:' "$out/$overlay.yaml") objects"
done
for overlay in monolith microservices; do
  python3 ../../scripts/check-deploy-secrets.py "$overlay" "$out/$overlay.yaml"
done
kubernetes-validate --strict --quiet "$out"/*.yaml
echo "kubernetes-validate: all objects valid"
# Skipped checks, each with its reason:
# - CKV_K8S_43 "Image should use digest": the image is pinned by tag through kustomize `images:`;
#   a release replaces the tag with the digest it built (`kustomize edit set image …@sha256:…`). No
#   image is built in this repository's CI (no Docker engine here), so there is no digest to pin yet.
checkov --directory "$out" --framework kubernetes --skip-check CKV_K8S_43 --compact --quiet --skip-download
