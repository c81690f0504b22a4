#!/usr/bin/env bash
# airbyte-clients.sh: drive Ferry the way Airbyte's clients do, with curl
# and jq, and fail on the first difference from what they expect.
#
#   1. Airbyte's public API v1 at /api/public/v1, as its Terraform provider
#      and Python SDK call it: a source and a destination named by their
#      connector's short name, a connection with nonBreakingSchemaUpdatesBehavior,
#      a Quartz cron and stream modes (every create must answer 200); each
#      read back and sent back unchanged by PUT or PATCH (no diff, no
#      error); a sync triggered with POST /jobs and polled to succeeded;
#      the jobs listed with orderBy.
#   2. The configuration API calls Dagster's and Prefect's integrations
#      make: POST /api/v1/connections/sync, then /api/v1/jobs/get until the
#      job succeeds, and connections/get, jobs/list, workspaces/list.
#   3. Deletes: a source in use is a 409; the connection goes (204) and its
#      jobs stay readable; then the source and destination go.
#
# Needs Ferry with the faker source and the jsonl destination registered
# (the reference connectors). See api.sh for FERRY_URL, FERRY_TOKEN and
# FERRY_DATA_DIR. FERRY_POLL is the seconds between status checks
# (default 1), FERRY_CHECK_TIMEOUT the seconds a sync may take (default
# 300), FERRY_CHECK_CRON the connection's cron (default 0 0 12 * * ?).
# Exit status 0 when everything matched, 1 on a mismatch, 2 for usage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/api.sh
. "$here/api.sh"

poll="${FERRY_POLL:-1}"
timeout="${FERRY_CHECK_TIMEOUT:-300}"
cron="${FERRY_CHECK_CRON:-0 0 12 * * ?}"
pub=/api/public/v1

fail() {
  echo "$prog: FAIL: $*" >&2
  exit 1
}

# call METHOD PATH WANT [JSON]: the response body; fails unless the status
# is WANT.
call() {
  local method=$1 path=$2 want=$3 body=${4:-} out status
  local args=(-X "$method" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  out=$(curl_ferry "${args[@]}" "$FERRY_URL$path") || fail "cannot reach Ferry at $FERRY_URL"
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  [ "$status" = "$want" ] || fail "$method $path: HTTP $status, want $want: $out"
  printf '%s\n' "$out"
}

# same A B WHAT: A and B are the same JSON but for updatedAt and nextRunAt.
same() {
  local norm='del(.updatedAt, .nextRunAt)'
  [ "$(jq -S "$norm" <<<"$1")" = "$(jq -S "$norm" <<<"$2")" ] ||
    fail "$3 changed it: $(diff <(jq -S "$norm" <<<"$1") <(jq -S "$norm" <<<"$2") | head -20)"
}

# roundtrip PATH METHOD: GET PATH, send it back with METHOD, GET it again.
roundtrip() {
  local before answer after
  before=$(call GET "$1" 200)
  answer=$(call "$2" "$1" 200 "$before")
  after=$(call GET "$1" 200)
  same "$before" "$answer" "$2 $1 (its answer)"
  same "$before" "$after" "$2 $1"
}

# wait_job PATH JQ: poll until the job at PATH reaches a terminal status
# (read with JQ from the body, or POSTed when PATH is a config API call).
wait_job() {
  local status deadline=$((SECONDS + timeout))
  while :; do
    status=$(eval "$1" | jq -r "$2")
    case $status in
    succeeded) return 0 ;;
    failed | cancelled) fail "job ended $status" ;;
    esac
    [ $SECONDS -lt $deadline ] || fail "job not done within ${timeout}s (status $status)"
    sleep "$poll"
  done
}

# 1. The public API.
call GET $pub/health 200 >/dev/null
ws=$(call GET $pub/workspaces 200 | jq -r '.data[0].workspaceId')
[ -n "$ws" ] && [ "$ws" != null ] || fail "no workspace"
call GET "$pub/workspaces/$ws/definitions/sources" 200 | jq -e '.data | map(.shortName) | index("faker")' >/dev/null ||
  fail "no faker source definition"

src=$(call POST $pub/sources 200 "$(jq -cn --arg ws "$ws" '{name: "airbyte-clients faker", workspaceId: $ws,
  configuration: {sourceType: "faker", count: 50, seed: 7}, resourceAllocation: {}}')" | jq -r .sourceId)
dst=$(call POST $pub/destinations 200 "$(jq -cn --arg ws "$ws" '{name: "airbyte-clients jsonl", workspaceId: $ws,
  configuration: {destinationType: "jsonl", destination_path: "/local/airbyte-clients"}}')" | jq -r .destinationId)
call GET "$pub/streams?sourceId=$src&destinationId=$dst&ignoreCache=true" 200 | jq -e 'type == "array" and length > 0' >/dev/null ||
  fail "GET /streams is not an array of streams"

conn=$(call POST $pub/connections 200 "$(jq -cn --arg s "$src" --arg d "$dst" --arg cron "$cron" '{
  name: "airbyte-clients", sourceId: $s, destinationId: $d, status: "active",
  nonBreakingSchemaUpdatesBehavior: "propagate_columns", dataResidency: "auto", namespaceDefinition: "destination",
  schedule: {scheduleType: "cron", cronExpression: $cron},
  configurations: {streams: [
    {name: "users", syncMode: "incremental_append", cursorField: ["updated_at"], mappers: []},
    {name: "products", syncMode: "full_refresh_overwrite"}]}}')" | jq -r .connectionId)
got=$(call GET "$pub/connections/$conn" 200)
jq -e --arg cron "$cron" '.nonBreakingSchemaUpdatesBehavior == "propagate_columns" and .schedule.cronExpression == $cron
  and (.configurations.streams | length) == 2' <<<"$got" >/dev/null || fail "the connection reads back otherwise: $got"

roundtrip "$pub/sources/$src" PUT
roundtrip "$pub/destinations/$dst" PATCH
roundtrip "$pub/connections/$conn" PATCH
roundtrip "/api/v1/connections/$conn" PUT

job=$(call POST $pub/jobs 200 "$(jq -cn --arg c "$conn" '{connectionId: $c, jobType: "sync"}')" | jq -r .jobId)
wait_job "call GET $pub/jobs/$job 200" .status
echo "public API: job $job succeeded"
first=$(call GET "$pub/jobs?connectionId=$conn&orderBy=createdAt%7CDESC&limit=5" 200 | jq -r '.data[0].jobId')
[ "$first" = "$job" ] || fail "jobs by createdAt|DESC start with $first, want $job"

# 2. The configuration API, as Dagster's integration calls it.
call GET /api/v1/health 200 | jq -e '.available == true' >/dev/null || fail "health is not available"
call POST /api/v1/workspaces/list 200 '{}' | jq -e --arg ws "$ws" '.workspaces[0].workspaceId == $ws' >/dev/null ||
  fail "workspaces/list"
call POST /api/v1/connections/get 200 "$(jq -cn --arg c "$conn" '{connectionId: $c}')" |
  jq -e '.syncCatalog.streams | map(.stream.name) | index("users")' >/dev/null || fail "connections/get has no syncCatalog"
cjob=$(call POST /api/v1/connections/sync 200 "$(jq -cn --arg c "$conn" '{connectionId: $c}')" | jq -r .job.id)
wait_job "call POST /api/v1/jobs/get 200 '{\"id\":$cjob}'" .job.status
call POST /api/v1/jobs/get 200 "{\"id\":$cjob}" | jq -e '(.attempts | length) >= 1 and .attempts[0].attempt.status == "succeeded"' >/dev/null ||
  fail "jobs/get has no succeeded attempt"
call POST /api/v1/jobs/list 200 "$(jq -cn --arg c "$conn" '{configId: $c, configTypes: ["sync"]}')" |
  jq -e '.totalJobCount == 2' >/dev/null || fail "jobs/list does not count both syncs"
echo "configuration API: job $cjob succeeded"

# 3. Deletes.
call DELETE "$pub/sources/$src" 409 | jq -e --arg c "$conn" '.detail | contains($c)' >/dev/null ||
  fail "deleting a source in use does not name its connection"
call DELETE "$pub/connections/$conn" 204 >/dev/null
call GET "$pub/jobs/$job" 200 | jq -e '.status == "succeeded"' >/dev/null || fail "the job went with its connection"
call DELETE "$pub/sources/$src" 204 >/dev/null
call DELETE "$pub/destinations/$dst" 204 >/dev/null
echo "$prog: ok"
