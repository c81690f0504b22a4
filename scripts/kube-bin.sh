#!/usr/bin/env bash
# Builds the test cluster's binaries from test/kube's pinned modules
# (kube-apiserver, kube-controller-manager, kube-scheduler and kubelet of
# k8s.io/kubernetes, etcd of go.etcd.io/etcd/server/v3) into a cache
# directory outside the clone, so every clone and CI run on the machine
# reuses them:
#
#   ${FERRY_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry-kube}/<version>/bin
#
# <version> names the releases and a build revision: change it with the
# pins in test/kube/go.mod or the build flags below, so they build anew.
# The cold build costs 15-17 CPU-minutes (about 12 minutes on 2 idle
# cores) and runs at nice 10; a warm one is a few stat calls. kubecluster and
# kubepause, Ferry's own small programs, are built into bin/kube in the
# clone every time (the Go build cache keeps that quick).
#
# Prints the cache's bin directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=test/kube
version="k8s-v1.37.2-etcd-v3.7.0-r1"
cache="${FERRY_KUBE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/ferry-kube}/$version"
bin="$cache/bin"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet)

complete() {
  for b in "${bins[@]}"; do [ -x "$bin/$b" ] || return 1; done
}

mkdir -p "$cache"
# One build at a time per cache: a second caller waits, then finds it done.
exec 9>"$cache/.lock"
flock 9
if ! complete; then
  echo "kube-bin: building ${bins[*]} into $bin (cold: 15-17 CPU-minutes)" >&2
  start=$(date +%s)
  tmp="$cache/bin.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  v=k8s.io/component-base/version
  (cd "$mod" && CGO_ENABLED=0 nice -n 10 go build -trimpath \
    -ldflags "-s -w -X $v.gitVersion=v1.37.2 -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean" \
    -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet)
  # etcd's main package is the module root, go.etcd.io/etcd/server/v3,
  # which go build would name "server".
  (cd "$mod" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$bin"
  mv "$tmp" "$bin"
  echo "kube-bin: built in $(( $(date +%s) - start ))s" >&2
fi
flock -u 9
mkdir -p bin/kube
(cd "$mod" && CGO_ENABLED=0 go build -trimpath -o ../../bin/kube/ ./cmd/kubecluster ./cmd/kubepause)
echo "$bin"
