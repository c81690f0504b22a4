#!/usr/bin/env bash
# logs.sh JOB [ATTEMPT]: print a job's attempt logs and follow them live
# (Server-Sent Events) until the job ends: every attempt from ATTEMPT
# (default 1) on, each headed by a line on stderr. Secrets are masked by
# Ferry. See api.sh for FERRY_URL, FERRY_TOKEN and FERRY_DATA_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/api.sh
. "$here/api.sh"

usage="usage: $prog JOB [ATTEMPT] (positive integers)"
[ $# -ge 1 ] && [ $# -le 2 ] || die "$usage"
job_id=$1
n=${2:-1}
[[ $job_id =~ ^[1-9][0-9]*$ && $n =~ ^[1-9][0-9]*$ ]] || die "$usage"
api GET "/api/v1/jobs/$job_id" >/dev/null || exit 2

# follow_attempt N streams attempt N's log to stdout and prints how it
# ended. The stream waits for an attempt that has not started yet. It
# fails when the API refuses the stream (curl -f: an HTTP error).
follow_attempt() {
  local event="" line
  echo "=== job $job_id, attempt $1" >&2
  curl_ferry -f -N -H 'Accept: text/event-stream' "$FERRY_URL/api/v1/jobs/$job_id/attempts/$1/logs" |
  while IFS= read -r line; do
    case "$line" in
      "event: "*) event=${line#event: } ;;
      "data: "*)
        case "$event" in
          log) printf '%s\n' "${line#data: }" ;;
          end) echo "=== attempt $1 ended: $(jq -r .status <<<"${line#data: }")" >&2 ;;
        esac
        ;;
      "") event="" ;;
    esac
  done
}

while :; do
  if ! follow_attempt "$n"; then
    # Ask again without following, for Ferry's message on stderr.
    api GET "/api/v1/jobs/$job_id/attempts/$n/logs" >/dev/null || exit 2
  fi
  job=$(api GET "/api/v1/jobs/$job_id") || exit 2
  status=$(jq -r .status <<<"$job")
  count=$(jq -r .attemptCount <<<"$job")
  case "$status" in
    succeeded | failed | cancelled)
      if [ "$n" -ge "$count" ]; then
        echo "=== job $job_id $status" >&2
        exit 0
      fi
      ;;
  esac
  n=$((n + 1))
done
