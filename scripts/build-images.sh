#!/usr/bin/env bash
# Builds connector images FROM scratch, tagged ferry/<name>:dev, with the
# classic builder (no registry and no buildx here).
#
#   scripts/build-images.sh source-faker destination-null ...
#   scripts/build-images.sh name=./path/to/main/package ...
#
# A bare name builds ./connectors/<name>. The image label
# io.ferry.ipc-options comes from <package>/ipc-options.json when present
# (Airbyte's connectorIPCOptions JSON); without it the image is a legacy
# STDIO-only connector. Every connector image gets io.ferry.hardening=strict
# (runner.LabelHardening). TAG overrides the ":dev" tag.
#
# "relay" (scripts/build-images.sh relay) builds bridged mode's relay,
# ./cmd/ferry-relay, into ferry/relay:<tag>: not a connector, but the same
# FROM scratch image around one static binary.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${TAG:-dev}"
[ $# -gt 0 ] || { echo "usage: $0 NAME[=PKG]..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for arg in "$@"; do
  name="${arg%%=*}"
  pkg="./connectors/$name"
  [ "$name" = relay ] && pkg="./cmd/ferry-relay"
  [ "$arg" != "$name" ] && pkg="${arg#*=}"
  ctx="$work/$name"
  mkdir -p "$ctx/airbyte"
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/connector" "$pkg"
  labels=(--label "io.ferry.connector=$name")
  # Ferry's connectors are static binaries that write only to /tmp, /local
  # and their sockets: they run hardened (non-root, read-only root
  # filesystem) unless their definition says otherwise. The relay keeps
  # its own settings.
  [ "$name" = relay ] || labels+=(--label "io.ferry.hardening=strict")
  if [ -f "$pkg/ipc-options.json" ]; then
    labels+=(--label "io.ferry.ipc-options=$(tr -d '\n' < "$pkg/ipc-options.json")")
  fi
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY connector /connector
COPY airbyte /airbyte
WORKDIR /airbyte
ENV AIRBYTE_ENTRYPOINT=/connector
ENTRYPOINT ["/connector"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q "${labels[@]}" -t "ferry/$name:$tag" "$ctx" >/dev/null
  echo "built ferry/$name:$tag"
done
