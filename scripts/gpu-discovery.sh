#!/usr/bin/env bash
# Spark's GPU discovery script for executors (spark.executor.resource.gpu.discoveryScript):
# prints {"name": "gpu", "addresses": ["0", "1", ...]} with the GPUs nvidia-smi lists, or no
# addresses where there is none.
set -euo pipefail
addresses=""
if command -v nvidia-smi >/dev/null 2>&1; then
  addresses="$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | sed 's/[^0-9]//g' | grep -v '^$' \
    | sed 's/.*/"&"/' | paste -sd, - || true)"
fi
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
