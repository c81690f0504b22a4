# Sourced by sync.sh, jobs.sh and logs.sh: where Ferry's API is and how to
# call it, with plain curl and jq.
#
#   FERRY_URL       the API, default http://127.0.0.1:8000
#   FERRY_TOKEN     the API token; when unset it is read from
#   FERRY_DATA_DIR  Ferry's data dir (default .ferry): $FERRY_DATA_DIR/token

FERRY_URL="${FERRY_URL:-http://127.0.0.1:8000}"
FERRY_URL="${FERRY_URL%/}"
prog=$(basename "$0")

die() {
  echo "$prog: $*" >&2
  exit 2
}

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool (apt-get install $tool)"
done

if [ -n "${FERRY_TOKEN:-}" ]; then
  token="$FERRY_TOKEN"
else
  token_file="${FERRY_DATA_DIR:-.ferry}/token"
  [ -r "$token_file" ] || die "no API token: set FERRY_TOKEN, or FERRY_DATA_DIR to Ferry's data dir (no readable $token_file)"
  token=$(tr -d '[:space:]' <"$token_file")
fi

# curl_ferry ARGS... runs curl with the token. The header is passed through
# a file descriptor, not argv, so other users cannot read it in ps.
curl_ferry() {
  curl -sS -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@"
}

# api METHOD PATH [JSON] prints the response body. On an HTTP error it
# prints Ferry's message and the status to stderr and returns 1.
api() {
  local method=$1 path=$2 body=${3:-} out status
  local args=(-X "$method" -w '\n%{http_code}')
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  if ! out=$(curl_ferry "${args[@]}" "$FERRY_URL$path"); then
    echo "$prog: cannot reach Ferry at $FERRY_URL" >&2
    return 1
  fi
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "$status" -ge 400 ]; then
    echo "$prog: $method $path: HTTP $status: $(jq -r '.message // .' <<<"$out" 2>/dev/null || printf '%s' "$out")" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# uri_encode TEXT percent-encodes a query parameter value.
uri_encode() {
  jq -rn --arg v "$1" '$v | @uri'
}
