#!/usr/bin/env bash
# make kube-test: Ferry's tests against a real single-node Kubernetes
# cluster. Builds the cluster's binaries (cached outside the clone, see
# scripts/kube-bin.sh), starts the cluster (test/kube/cmd/kubecluster:
# a second containerd, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, a kubelet), imports the connector images the tests use,
# runs the tests with FERRY_KUBECONFIG and FERRY_REQUIRE_KUBE=1, and always
# tears the cluster down. down fails when anything is left behind
# (process, mount, iptables rule, network device, cgroup), and so does
# this script.
#
# FERRY_KUBE_STATE: the cluster's state directory (default /tmp/ferry-kube).
# TAG: the image tag to import and test (default dev).
# FERRY_KUBE_IMAGES: the ferry/<name> images to import (default: every one
# `make images` builds).
set -euo pipefail
cd "$(dirname "$0")/.."
state="${FERRY_KUBE_STATE:-/tmp/ferry-kube}"
tag="${TAG:-dev}"
read -r -a images <<< "${FERRY_KUBE_IMAGES:-source-faker destination-jsonl destination-null connector-scripted relay}"
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 ))s"; }

bin=$(scripts/kube-bin.sh | tail -1)
kc=bin/kube/kubecluster
echo "kube-test: binaries ready after $(elapsed) ($bin)"

# A run that was killed may have left a cluster behind: clean it first.
"$kc" -state "$state" down >/dev/null 2>&1 || "$kc" -state "$state" down

rc=0
teardown() {
  trap - EXIT INT TERM
  echo "kube-test: tearing down after $(elapsed)"
  if ! "$kc" -state "$state" down; then
    rc=1
  fi
  echo "kube-test: done in $(elapsed), exit $rc"
  exit "$rc"
}
trap teardown EXIT
trap 'rc=130; exit 130' INT
trap 'rc=143; exit 143' TERM

"$kc" -bin "$bin" -state "$state" up || { rc=1; exit 1; }
refs=()
for img in "${images[@]}"; do refs+=("ferry/$img:$tag"); done
"$kc" -state "$state" import "${refs[@]}" || { rc=1; exit 1; }
echo "kube-test: cluster up, images imported after $(elapsed)"

export FERRY_KUBECONFIG="$state/admin.kubeconfig"
export FERRY_REQUIRE_KUBE=1
export FERRY_KUBE_IMAGE_TAG="$tag"
# The cluster's own smoke test (test/kube is a module of its own), then
# the main module's Kubernetes packages when there are any.
(cd test/kube && go test -race -count=1 -v ./...) || rc=1
# The tests build the images they need with Docker (under
# FERRY_TEST_IMAGE_TAG when set) and copy them in with this command.
export FERRY_KUBE_IMPORT="$PWD/$kc -state $state import"
go test -race -count=1 ./runner/kube/... || rc=1
# Two ferry serve replicas on PostgreSQL with the Kubernetes runtime.
go test -race -count=1 -run 'Kubernetes' ./daemon/ || rc=1
