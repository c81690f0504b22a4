#!/usr/bin/env bash
# sync.sh [-f] CONNECTION: trigger a sync of a connection (its ID or its
# exact name) through Ferry's API, wait for the job to end, and print a
# summary: status, duration, records and bytes, per-stream counts,
# warnings and failures. With -f the attempt logs are followed meanwhile.
#
# Exit status: 0 only when the job succeeded plainly; 1 when it failed,
# was cancelled, or could not be started (e.g. the connection already has
# an active job); 2 for usage, connection or token problems; 4 when it
# succeeded with warnings, a partial success (G11: e.g. the destination
# acknowledged no state), as `ferry sync` exits.
#
# See api.sh for FERRY_URL, FERRY_TOKEN and FERRY_DATA_DIR. FERRY_POLL is
# the seconds between status checks (default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/api.sh
. "$here/api.sh"

follow=false
if [ "${1:-}" = "-f" ]; then
  follow=true
  shift
fi
[ $# -eq 1 ] || die "usage: $prog [-f] CONNECTION"
conn=$1

# Resolve a name to an ID: an ID is tried first, then the names.
if ! api GET "/api/v1/connections/$(uri_encode "$conn")" >/dev/null 2>&1; then
  id=""
  offset=0
  while [ -z "$id" ]; do
    page=$(api GET "/api/v1/connections?limit=100&offset=$offset") || exit 2
    id=$(jq -r --arg n "$conn" '[.data[] | select(.name == $n)][0].connectionId // empty' <<<"$page")
    [ "$(jq -r '.next' <<<"$page")" = null ] && break
    offset=$((offset + 100))
  done
  [ -n "$id" ] || die "no connection with the ID or name \"$conn\""
  conn=$id
fi

job=$(api POST /api/v1/jobs "$(jq -cn --arg c "$conn" '{connectionId: $c, jobType: "sync"}')") || exit 1
job_id=$(jq -r .jobId <<<"$job")
echo "$prog: job $job_id started" >&2

if $follow; then
  "$here/logs.sh" "$job_id" || true
fi
last=""
while :; do
  job=$(api GET "/api/v1/jobs/$job_id") || exit 2
  status=$(jq -r .status <<<"$job")
  now="$status (attempt $(jq -r .attemptCount <<<"$job"))"
  if [ "$now" != "$last" ]; then
    echo "$prog: job $job_id: $now" >&2
    last=$now
  fi
  case "$status" in
    succeeded | failed | cancelled) break ;;
  esac
  sleep "${FERRY_POLL:-2}"
done

jq -r '
  "job \(.jobId) \(.status)\(if .partialSuccess and .status == "succeeded" then " with warnings (partial success)" else "" end) in \(.duration // "?"): \(.rowsSynced) records (\(.bytesSynced) bytes) committed in \(.attemptCount) attempt(s)",
  (.attempts[-1].streamStats[]? |
    "  stream \(if .stream.namespace then .stream.namespace + "." else "" end)\(.stream.name): \(.recordsCommitted) records committed of \(.recordsEmitted) read\(if .status then " (" + .status + ")" else "" end)"),
  (.warnings[]? | "  warning: \(.)"),
  (.attempts[]? | .attemptNumber as $n | .failureSummary.failures[]? |
    "  attempt \($n) failed: \(.failureOrigin)\(if .failureType then " " + .failureType else "" end): \(.externalMessage // .internalMessage // "no message")")
' <<<"$job"
[ "$status" = succeeded ] || exit 1
[ "$(jq -r '.partialSuccess // false' <<<"$job")" = false ] || exit 4
