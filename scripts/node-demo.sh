#!/bin/sh
# A central server and a school node side by side, with demo data, and the node's first sync to watch.
#
#   scripts/node-demo.sh         build (or resume) both, start them in the background, sync the node once
#   scripts/node-demo.sh sync    one more sync of the node now, by hand
#   scripts/node-demo.sh stop    stop both servers and the node's background sync
#
# The central server lives in var/centre/ (its SQLite database and keys) and serves on 127.0.0.1:$PORT;
# the node lives in var/node/ (its own database and node file) and serves on 127.0.0.1:$NODE_PORT.
# Run it again and it resumes: the demo data and the node's registration are kept.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/.venv/bin}
PORT=${PORT:-8000}
NODE_PORT=${NODE_PORT:-8001}
SCHOOLS=${NODE_SCHOOLS:-2}
STUDENTS=${NODE_STUDENTS:-300}
SYNC_EVERY=${NODE_SYNC_EVERY:-60}
CENTRE_DIR=$ROOT/var/centre
NODE_DIR=$ROOT/var/node

# Each site only from its own folder: nothing from the caller's environment points it elsewhere.
# With RUN=exec (in a background subshell) the command replaces the subshell, so $! is the server's own id.
centre() {
  ${RUN:-} env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u BIRTUTAS_NODE_FILE -u BIRTUTAS_SYNC_KEYS_DIR \
    BIRTUTAS_VAR_DIR="$CENTRE_DIR" BIRTUTAS_DEMO=1 BIRTUTAS_SITE_URL="http://127.0.0.1:$PORT/" "$@"
}
node() {
  ${RUN:-} env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u BIRTUTAS_SYNC_KEYS_DIR \
    BIRTUTAS_VAR_DIR="$NODE_DIR" BIRTUTAS_DEMO=1 BIRTUTAS_NODE_FILE="$NODE_DIR/node.json" \
    BIRTUTAS_SITE_URL="http://127.0.0.1:$NODE_PORT/" "$@"
}

stop() {
  for pidfile in "$NODE_DIR/sync.pid" "$NODE_DIR/server.pid" "$CENTRE_DIR/server.pid"; do
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      case "$(ps -p "$pid" -o args= 2>/dev/null)" in  # only ours: the id may have been given to another program
        *birtutas*) kill "$pid" 2>/dev/null || true ;;
      esac
      rm -f "$pidfile"
    fi
  done
}

busy() {
  "$BIN/python" -P -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', int(sys.argv[1]))) != 0)" "$1"
}

wait_for() {  # url, log file
  tries=0
  until "$BIN/python" -P -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
      echo "The server did not start; its log: $2" >&2
      tail -20 "$2" >&2
      exit 1
    fi
    sleep 0.5
  done
}

case "${1:-}" in
  stop)
    stop
    echo "Stopped the central server and the school node."
    exit 0 ;;
  sync)
    node "$BIN/birtutas" sync
    exit 0 ;;
  "") ;;
  *)
    echo "usage: $0 [stop|sync]" >&2
    exit 2 ;;
esac

stop  # a previous run's servers, if any
for port in "$PORT" "$NODE_PORT"; do
  if busy "$port"; then
    echo "Port $port is in use by another program: choose others, e.g. make node PORT=8100 NODE_PORT=8101" >&2
    exit 1
  fi
done
mkdir -p "$CENTRE_DIR" "$NODE_DIR"
started=$(date +%s)

echo "== Central server (var/centre): migrate, demo data ($SCHOOLS schools, $STUDENTS students)"
centre "$BIN/birtutas" migrate --noinput --verbosity 0
centre "$BIN/birtutas" demo_data --schools "$SCHOOLS" --students "$STUDENTS" --quiet

echo "== Central server: number every record for sync (capture)"
centre "$BIN/birtutas" sync capture
# The first demo school: the one the demo accounts work in.
school=$(centre "$BIN/birtutas" shell -c "
from birtutas.registry.models import User
person = User.objects.get(username='teacher').person
print(person.memberships.exclude(organization=None).first().organization.uid)
" | tail -1)

node_id=""
if [ -f "$NODE_DIR/node.json" ]; then
  node_id=$("$BIN/python" -P -c "import json,sys; print(json.load(open(sys.argv[1]))['registration']['node'])" \
    "$NODE_DIR/node.json")
  if ! centre "$BIN/birtutas" node list | grep -q "^$node_id"; then
    echo "== The node in var/node is not registered at this central server: starting it afresh"
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    node_id=""
  fi
fi
if [ -z "$node_id" ]; then
  echo "== Registering a school node for the first demo school ($school)"
  registration=$NODE_DIR/registration.json
  centre "$BIN/birtutas" node create --organization "$school" --name "Demo school server" --out "$registration" \
    >/dev/null
  node "$BIN/birtutas" node register "$registration" --node-file "$NODE_DIR/node.json" >/dev/null
  rm -f "$registration"  # it holds the node's secret keys: registered, it is no longer needed
fi
echo "== School node (var/node): migrate its own database"
node "$BIN/birtutas" migrate --noinput --verbosity 0

echo "== Starting the central server on http://127.0.0.1:$PORT/ and the node on http://127.0.0.1:$NODE_PORT/"
(RUN=exec centre env BIRTUTAS_DEBUG=0 "$BIN/birtutas" runserver "127.0.0.1:$PORT" --noreload) \
  >"$CENTRE_DIR/server.log" 2>&1 &
echo $! >"$CENTRE_DIR/server.pid"
(RUN=exec node env BIRTUTAS_DEBUG=0 "$BIN/birtutas" runserver "127.0.0.1:$NODE_PORT" --noreload) \
  >"$NODE_DIR/server.log" 2>&1 &
echo $! >"$NODE_DIR/server.pid"
wait_for "http://127.0.0.1:$PORT/api/sync/v1/nonce" "$CENTRE_DIR/server.log"
wait_for "http://127.0.0.1:$NODE_PORT/" "$NODE_DIR/server.log"

echo "== The node's sync with the central server: it sends what the centre lacks, receives its school"
node "$BIN/birtutas" sync
(RUN=exec node "$BIN/birtutas" sync --loop "$SYNC_EVERY") >"$NODE_DIR/sync.log" 2>&1 &
echo $! >"$NODE_DIR/sync.pid"

cat <<EOF

Ready in $(( $(date +%s) - started )) s.
  School node:     http://127.0.0.1:$NODE_PORT/  sign in as teacher, director, student or parent (password: demo)
  Central server:  http://127.0.0.1:$PORT/  the same accounts, and analyst
  The school's sync, as its director sees it: /sync/ on either server
The node syncs again every $SYNC_EVERY s (var/node/sync.log); by hand: scripts/node-demo.sh sync
Logs: var/centre/server.log, var/node/server.log.   Stop both: scripts/node-demo.sh stop
EOF
