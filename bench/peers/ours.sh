#!/usr/bin/env bash
# Bastion for the peer benchmark (the bench-peers harness; see bench/README.md in the Bastion checkout).
# Flow: POST /hooks/bench (webhook, respond: result, schema type: object) -> transform {body, processed: true}
#   -> log step -> output = the transform's value. Embedded mode (one process, SQLite); every control on:
#   the execution, its two step runs and three audit events are written, sealed and hash-chained per request.
#
# Use: copy the harness somewhere writable, put this file next to run-all.sh, point it at the checkout:
#   cp -r /path/to/bench-peers /tmp/peers && cp bench/peers/ours.sh /tmp/peers/
#   cd /tmp/peers && BASTION_SRC=/path/to/bastion PLATFORMS="python-baseline nodered n8n ours" ./run-all.sh
# (or symlink it: ln -s /path/to/bastion/bench/peers/ours.sh /tmp/peers/ — the checkout is then found
#  through the link and BASTION_SRC is not needed).
# Usage: ./ours.sh [install|setup|start|load|stop|executions|bench]  (bench = install+setup+start+load+stop)
# Env: BASTION_SRC (the checkout; found automatically when ours.sh is a symlink into <checkout>/bench/peers),
#      OURS_PORT=8900, OURS_PYTHON=python3 (>= 3.11), OURS_PIP_EXTRA (extra pip requirements; default pins
#      uvicorn 0.54.0, the version python-baseline.sh measures).
source "$(dirname "$0")/common.sh"
PORT="${OURS_PORT:-8900}"; URL="http://127.0.0.1:$PORT/hooks/bench"; PIDFILE="$WORK/ours.pid"
VENV="$WORK/bastion-venv"; DATA="$WORK/bastion-data"

src() {  # the Bastion checkout this runs against
  local here
  if [ -z "${BASTION_SRC:-}" ]; then
    here="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"   # ours.sh symlinked from a checkout
    [ -f "$here/bench/automations/bench.yaml" ] && [ -f "$here/pyproject.toml" ] && BASTION_SRC="$here"
  fi
  if [ -z "${BASTION_SRC:-}" ] || [ ! -f "$BASTION_SRC/bench/automations/bench.yaml" ]; then
    log "set BASTION_SRC to the Bastion checkout (the directory holding pyproject.toml and bench/)"
    exit 2
  fi
  echo "$BASTION_SRC"
}

# Run a command with BASTION_DATA_DIR set and every other BASTION_* variable removed (no stray DB URL).
bastion_env() {
  local unset=() v
  for v in $(compgen -e | grep '^BASTION_' || true); do unset+=(-u "$v"); done
  env "${unset[@]}" BASTION_DATA_DIR="$DATA" "$@"
}

install() {
  local s; s="$(src)"
  if [ -x "$VENV/bin/bastion" ] && [ "$(cat "$VENV/.bastion-src" 2>/dev/null)" = "$s" ]; then return 0; fi
  local extra; read -ra extra <<< "${OURS_PIP_EXTRA-uvicorn[standard]==0.54.0}"
  log "ours: installing Bastion from $s into $VENV (log: $WORK/ours-install.log)"
  rm -rf "$VENV"
  # Editable: the benchmark always runs the checkout's current code, no reinstall after an edit.
  if ! { "${OURS_PYTHON:-python3}" -m venv "$VENV" && "$VENV/bin/pip" install -q --upgrade pip &&
         "$VENV/bin/pip" install -q -e "$s" "${extra[@]}"; } > "$WORK/ours-install.log" 2>&1; then
    tail -20 "$WORK/ours-install.log" >&2; log "ours: install failed"; exit 1
  fi
  echo "$s" > "$VENV/.bastion-src"
}
setup() {  # fresh data dir (key file + SQLite DB), then the bench automation applied to the local store
  local s; s="$(src)"
  rm -rf "$DATA"
  bastion_env "$VENV/bin/bastion" init
  bastion_env "$VENV/bin/python" "$s/scripts/bootstrap.py" "$s/bench/automations"
}
start() {
  # $(server_prefix) pins the server to core 0 when PIN=1 (wrk then runs on core 1). Bind 127.0.0.1 only.
  setsid $(server_prefix) env $(compgen -e | grep '^BASTION_' | sed 's/^/-u /') BASTION_DATA_DIR="$DATA" \
      "$VENV/bin/bastion" serve --host 127.0.0.1 --port "$PORT" > "$WORK/ours.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  wait_post_ok "$URL" 120                          # waits until POST body.json returns 200
  check_response "$URL"
}
executions() {  # executions per state, straight from Bastion's SQLite file (safe while serving: WAL)
  python3 - "$DATA/bastion.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for state, n in db.execute("select state, count(*) from executions group by state order by state"):
    print(f"bastion executions: state={state} count={n}")
print(f"bastion audit events: {db.execute('select count(*) from audit_events').fetchone()[0]}")
PY
}
load() {
  run_load ours "webhook->transform->log (all controls on)" "$URL" "$(cat "$PIDFILE")"
  executions | tee -a "$RESULTS/ours-executions.txt" >&2
}
stop() { [ -f "$PIDFILE" ] && stop_tree "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; }

case "${1:-bench}" in
  install) install ;; setup) setup ;; start) start ;; load) load ;; stop) stop ;; executions) executions ;;
  bench) install; setup > "$WORK/ours-setup.log" 2>&1; trap stop EXIT; start; load; stop ;;
  *) echo "usage: $0 [install|setup|start|load|stop|executions|bench]"; exit 2 ;;
esac
