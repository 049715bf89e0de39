#!/usr/bin/env bash
# Fetches the upstream chart data the chart-values tests read from ../shared/upstream (see tests/helpers/chart.ts):
# Cilium 1.18.0's packaged values and schema from helm.cilium.io (checked against the published digest) and the Istio
# 1.31.1 chart values and Helm profiles from istio/istio. Usage: fetch-upstream.sh <target-dir>
set -euo pipefail
target=${1:?usage: fetch-upstream.sh <target-dir>}
readonly CILIUM_VERSION=1.18.0
readonly CILIUM_TGZ_SHA256=7f9557f24b944ab06a0a661a1be236eedf0966341deb6ecd326209d6ab116a85
readonly ISTIO_TAG=1.31.1

if [ -f "$target/cilium/values.yaml" ] && [ -f "$target/istio/istiod/values.yaml" ]; then
  echo "upstream chart data already in $target"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl -fsSL --retry 3 -o "$work/cilium.tgz" "https://helm.cilium.io/cilium-${CILIUM_VERSION}.tgz"
echo "${CILIUM_TGZ_SHA256}  $work/cilium.tgz" | sha256sum -c -
mkdir -p "$target/cilium"
tar -xzf "$work/cilium.tgz" -C "$work"
cp "$work/cilium/Chart.yaml" "$work/cilium/values.yaml" "$work/cilium/values.schema.json" "$target/cilium/"

git clone -q --depth 1 --filter=blob:none --sparse --branch "$ISTIO_TAG" https://github.com/istio/istio "$work/istio"
git -C "$work/istio" sparse-checkout set manifests/charts manifests/helm-profiles
charts="$work/istio/manifests/charts"
for pair in base:base cni:istio-cni istiod:istio-control/istio-discovery ztunnel:ztunnel gateway:gateway; do
  name=${pair%%:*}
  src=${pair#*:}
  mkdir -p "$target/istio/$name"
  cp "$charts/$src/Chart.yaml" "$charts/$src/values.yaml" "$target/istio/$name/"
  if [ -f "$charts/$src/values.schema.json" ]; then
    cp "$charts/$src/values.schema.json" "$target/istio/$name/"
  fi
done
mkdir -p "$target/istio/helm-profiles"
cp "$work/istio/manifests/helm-profiles/"*.yaml "$target/istio/helm-profiles/"
echo "upstream chart data in $target"
