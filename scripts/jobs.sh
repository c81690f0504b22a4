#!/usr/bin/env bash
# jobs.sh [-c CONNECTION_ID] [-s STATUS] [-n LIMIT]: list Ferry's jobs,
# newest first, one per line: id, status, type, connection, start time,
# duration, records committed, attempts. A status ending in "*" is a
# partial success (G11): succeeded with warnings, or failed after
# committing records.
#
# STATUS is pending, running, incomplete, succeeded, failed or cancelled;
# LIMIT is 1-100 (default 20). See api.sh for FERRY_URL, FERRY_TOKEN and
# FERRY_DATA_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/api.sh
. "$here/api.sh"

query="limit=20"
while getopts "c:s:n:" opt; do
  case "$opt" in
    c) query+="&connectionId=$(uri_encode "$OPTARG")" ;;
    s) query+="&status=$(uri_encode "$OPTARG")" ;;
    n) query+="&limit=$(uri_encode "$OPTARG")" ;;
    *) die "usage: $prog [-c CONNECTION_ID] [-s STATUS] [-n LIMIT]" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "usage: $prog [-c CONNECTION_ID] [-s STATUS] [-n LIMIT]"

page=$(api GET "/api/v1/jobs?$query") || exit 2
printf '%-6s %-10s %-7s %-36s %-20s %-12s %10s %s\n' JOB STATUS TYPE CONNECTION STARTED DURATION RECORDS ATTEMPTS
jq -r '.data[] | [.jobId, (.status + (if .partialSuccess then "*" else "" end)), .jobType, .connectionId, (.startTime | sub("\\.[0-9]+Z$"; "Z")),
  (.duration // "-"), .rowsSynced, .attemptCount] | @tsv' <<<"$page" |
  while IFS=$'\t' read -r id st ty co started dur rows att; do
    printf '%-6s %-10s %-7s %-36s %-20s %-12s %10s %s\n' "$id" "$st" "$ty" "$co" "$started" "$dur" "$rows" "$att"
  done
