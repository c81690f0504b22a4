#!/usr/bin/env bash
# End-to-end throughput: the same faker records into destination-null,
# joined without Ferry and through `ferry sync`, side by side in one run.
#
#   scripts/bench-sync.sh                 # 5M records, local and Docker runtimes
#   RECORDS=1000000 RUNTIMES=local scripts/bench-sync.sh
#
# It uses faker's purchases stream (about 320-byte lines; faker has no
# smaller stream) and prints records/s, MB/s and Ferry's peak RSS. Needs
# bin/ferry, bin/connectors/* and, for Docker, the ferry/*:dev images
# (make bench-sync builds them all).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${RECORDS:-5000000}"
RUNTIMES="${RUNTIMES:-local docker}"
FERRY=bin/ferry
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

echo "{\"count\":$RECORDS,\"seed\":42,\"records_per_slice\":10000}" > "$work/faker.json"
echo '{}' > "$work/null.json"
# The configured catalog: purchases only, incremental append.
"$FERRY" connector discover --runtime local --json --config "$work/faker.json" bin/connectors/source-faker \
  | jq -c '{streams: [.catalog.streams[] | select(.name == "purchases")
      | {stream: ., sync_mode: "incremental", destination_sync_mode: "append", cursor_field: .default_cursor_field}]}' \
  > "$work/catalog.json"

rows=()
bytes=""

# ferry_run RUNTIME SOURCE DEST [SYNC FLAGS...]: runs ferry sync, sets
# secs, peak (KiB) and bytes.
ferry_run() {
  local start end rt="$1" src="$2" dst="$3"
  shift 3
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$FERRY" sync --runtime "$rt" --json \
    --source "$src" --source-config "$work/faker.json" \
    --destination "$dst" --destination-config "$work/null.json" \
    --catalog "$work/catalog.json" --log "$work/ferry.log" --mode stdio "$@" > "$work/result.json"
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  peak=$(cat "$work/rss")
  [ "$(jq -r .status "$work/result.json")" = succeeded ] || { echo "ferry sync $*: $(jq -c '.failures' "$work/result.json")" >&2; exit 1; }
  [ -n "$bytes" ] || bytes=$(jq '.stats.bytesEmitted' "$work/result.json")
  local n
  n=$(jq '.stats.recordsCommitted' "$work/result.json")
  [ "$n" = "$RECORDS" ] || { echo "ferry sync moved $n records, want $RECORDS" >&2; exit 1; }
}

# time_cmd CMD...: runs a shell pipeline, sets secs.
time_cmd() {
  local start end
  start=$(date +%s.%N)
  bash -c "$1"
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
}

row() { # runtime path secs peak
  local rps mbs
  rps=$(echo "$RECORDS / $3" | bc -l)
  mbs=$(echo "$bytes / $3 / 1000000" | bc -l)
  rows+=("$(printf '%-7s %-34s %9d %8.2f %12.0f %8.1f %10s' "$1" "$2" "$RECORDS" "$3" "$rps" "$mbs" "$4")")
}

for rt in $RUNTIMES; do
  case "$rt" in
  local)
    src=bin/connectors/source-faker dst=bin/connectors/destination-null
    ferry_run local "$src" "$dst"; f_secs=$secs; f_peak="$((peak / 1024)) MiB"
    time_cmd "$src read --config $work/faker.json --catalog $work/catalog.json | $dst write --config $work/null.json --catalog $work/catalog.json > /dev/null"
    row local "plain pipe (no Ferry)" "$secs" "-"
    row local "ferry sync, stdio" "$f_secs" "$f_peak"
    rows+=("$(printf '%-7s Ferry costs %.1f%% of the plain pipe'"'"'s throughput (target < 15%%)' local "$(echo "(1 - $secs / $f_secs) * 100" | bc -l)")")
    ;;
  docker)
    if ! docker info >/dev/null 2>&1; then echo "docker: no engine answers; skipped" >&2; continue; fi
    ferry_run docker ferry/source-faker:dev ferry/destination-null:dev; f_secs=$secs; f_peak="$((peak / 1024)) MiB"
    time_cmd "docker run --rm --log-driver none -v $work:/cfg:ro ferry/source-faker:dev read --config /cfg/faker.json --catalog /cfg/catalog.json \
      | docker run --rm -i --log-driver none -v $work:/cfg:ro ferry/destination-null:dev write --config /cfg/null.json --catalog /cfg/catalog.json > /dev/null"
    row docker "docker run | docker run -i" "$secs" "-"
    row docker "ferry sync, stdio" "$f_secs" "$f_peak"
    rows+=("$(printf '%-7s Ferry costs %.1f%% of the docker-run join'"'"'s throughput (target < 15%%)' docker "$(echo "(1 - $secs / $f_secs) * 100" | bc -l)")")
    stdio_secs=$f_secs
    for fmt in JSONL PROTOBUF; do
      for n in 2 4 8; do
        ferry_run docker ferry/source-faker:dev ferry/destination-null:dev --mode socket --format "$fmt" --sockets "$n"
        row docker "ferry sync, socket $fmt x$n" "$secs" "$((peak / 1024)) MiB"
        rows+=("$(printf '%-7s   socket %s x%d: %.1fx Ferry stdio (target >= 4x)' docker "$fmt" "$n" "$(echo "$stdio_secs / $secs" | bc -l)")")
      done
    done
    ferry_run docker ferry/source-faker:dev ferry/destination-null:dev --mode bridged --format JSONL --sockets 2
    row docker "ferry sync, bridged JSONL x2" "$secs" "$((peak / 1024)) MiB"
    # The machine's raw Unix-socket bandwidth between two containers.
    scripts/build-images.sh sockbench=./scripts/sockbench >/dev/null
    vol=ferry-bench-sockets-$$
    docker volume create --driver local -o type=tmpfs -o device=tmpfs -o o=mode=1777 "$vol" >/dev/null
    docker run -d --rm --log-driver none --name "$vol-serve" -v "$vol:/s" ferry/sockbench:dev serve /s/raw.sock 4000000000 >/dev/null
    raw=$(docker run --rm --log-driver none -v "$vol:/s" ferry/sockbench:dev read /s/raw.sock 4000000000)
    docker volume rm -f "$vol" >/dev/null 2>&1 || true
    rows+=("$(printf '%-7s raw Unix socket between two containers, 1 MiB writes: %s MB/s' docker "$raw")")
    ;;
  *) echo "unknown runtime $rt" >&2; exit 2 ;;
  esac
done

printf '%-7s %-34s %9s %8s %12s %8s %10s\n' runtime path records seconds records/s MB/s "ferry RSS"
printf '%s\n' "${rows[@]}"
