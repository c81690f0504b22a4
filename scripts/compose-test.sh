#!/usr/bin/env bash
# make compose-test: bring Ferry up with docker-compose (the repo's
# docker-compose.yml, under its own project name, volumes and a free port,
# so it never touches a real install), wait for the first start's demo
# sync, run the demo sync again through the API with scripts/sync.sh,
# check that its files landed in the local-root volume, then run a bridged
# sync (bridged_sync below), and take it all down. Needs bin/ferry and the
# ferry/*:dev images, ferry/relay:dev among them (make build images).
set -euo pipefail
cd "$(dirname "$0")/.."

project="ferry-compose-test-$$"
export FERRY_PORT=0 # any free port; read back below
export FERRY_DATA_VOLUME="$project-data" FERRY_LOCAL_VOLUME="$project-local"
compose() { docker-compose --ansi never -p "$project" "$@"; }
ok=false
cleanup() {
  if ! $ok; then
    echo "compose-test: FAILED; ferry's log:" >&2
    compose logs --no-color --tail=200 ferry >&2 || true
  fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

command -v docker-compose >/dev/null || { echo "compose-test: needs docker-compose" >&2; exit 2; }
[ -x bin/ferry ] || { echo "compose-test: no bin/ferry: run make build images" >&2; exit 2; }

echo "compose-test: building and starting $project"
compose build --quiet ferry
compose up -d
addr=$(compose port ferry 8000)
export FERRY_URL="http://$addr"
for _ in $(seq 60); do
  curl -fsS "$FERRY_URL/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$FERRY_URL/healthz" >/dev/null || { echo "compose-test: no answer at $FERRY_URL/healthz" >&2; exit 1; }

# The token is in the data volume; docker cp reads it from the scratch
# container, which has no shell to run cat in.
cid=$(compose ps -q ferry)
FERRY_TOKEN=$(docker cp "$cid:/data/token" - | tar -xO | tr -d '[:space:]')
export FERRY_TOKEN
echo "compose-test: Ferry answers at $FERRY_URL"

# The first start triggered the demo's first sync: follow it to its end.
scripts/logs.sh 1 >/dev/null
scripts/sync.sh "Demo: faker → JSONL"

# The destination container wrote into the local-root volume, which
# Ferry's container mounts at /data/local.
files=$(docker cp "$cid:/data/local/demo" - | tar -t)
for f in users.jsonl products.jsonl purchases.jsonl; do
  grep -q "demo/$f" <<<"$files" || { echo "compose-test: $f missing from the local root: $files" >&2; exit 1; }
done
# Bridged mode under compose (issue 13): the faker source speaks SOCKET,
# a definition of destination-jsonl whose IPC options say STDIO only does
# not, so Ferry bridges; it runs in a container and reaches no directory
# the source could share, so its probe picks the relay. The records the
# destination wrote must be the ones the attempt committed.
bridged_sync() {
  # shellcheck source=scripts/api.sh
  . scripts/api.sh
  local src def dst conn job attempt lines committed log
  src=$(api GET "/api/v1/connections?limit=100" | jq -r '.data[] | select(.name == "Demo: faker → JSONL") | .sourceId')
  def=$(api POST /api/v1/definitions "$(jq -cn '{name: "JSONL (STDIO only)", kind: "destination",
    image: "ferry/destination-jsonl:dev", ipcOptions: {dataChannel: {version: "0.0.2",
    supportedSerialization: ["JSONL"], supportedTransport: ["STDIO"]}}}')" | jq -r .definitionId)
  dst=$(api POST /api/v1/destinations "$(jq -cn --arg d "$def" '{name: "Bridged JSONL", definitionId: $d,
    configuration: {destination_path: "/local/bridged"}}')" | jq -r .destinationId)
  conn=$(api POST /api/v1/connections "$(jq -cn --arg s "$src" --arg d "$dst" '{name: "Bridged: faker → JSONL (STDIO)",
    sourceId: $s, destinationId: $d}')" | jq -r .connectionId)
  scripts/sync.sh "$conn"
  job=$(api GET "/api/v1/jobs?connectionId=$conn&limit=1" | jq -r '.data[0].jobId')
  attempt=$(api GET "/api/v1/jobs/$job" | jq -c '.attempts[-1]')
  [ "$(jq -r .mode <<<"$attempt")" = bridged ] || { echo "compose-test: the bridged connection ran in $(jq -r .mode <<<"$attempt") mode" >&2; return 1; }
  log=$(api GET "/api/v1/jobs/$job/attempts/1/logs")
  grep -q 'bridge: relay' <<<"$log" || { echo "compose-test: the attempt did not go through the relay:" >&2; grep -i 'bridge\|data channel' <<<"$log" >&2; return 1; }
  grep -q 'ferry-relay: every socket ended' <<<"$log" || { echo "compose-test: the relay did not end cleanly" >&2; return 1; }
  committed=$(jq -r .recordsSynced <<<"$attempt")
  lines=$(docker cp "$cid:/data/local/bridged" - | tar -xO --wildcards '*.jsonl' | wc -l)
  if [ "$committed" -lt 1 ] || [ "$lines" -ne "$committed" ]; then
    echo "compose-test: bridged sync: $lines records in the files, $committed committed" >&2
    return 1
  fi
  echo "compose-test: bridged sync through the relay: $lines records, as committed"
}
bridged_sync

scripts/jobs.sh -n 5
ok=true
echo "compose-test: passed"
