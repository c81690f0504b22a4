#!/usr/bin/env bash
# make run: after make has built bin/ferry and bin/connectors, build the
# connector images when a Docker engine answers, then run `ferry serve` on
# the data dir (default .ferry). On first start Ferry registers the
# reference connectors and a demo connection (faker -> jsonl) that syncs at
# once, then every hour; its files land in <data dir>/local/demo.
# Stop it with Ctrl-C: running syncs get a grace period, then are retried
# at the next start.
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${DATA_DIR:-.ferry}"
runtime=local
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "run: a Docker engine answers: building the connector images"
  # shellcheck disable=SC2046 # one argument per connector directory
  scripts/build-images.sh $(ls connectors)
  runtime=docker
else
  echo "run: no Docker engine answers: connectors run as local processes from bin/connectors"
fi
exec bin/ferry serve --data-dir "$data_dir" --runtime "$runtime" --connectors-dir bin/connectors
