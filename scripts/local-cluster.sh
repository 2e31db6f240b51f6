#!/usr/bin/env bash
# local-cluster.sh: a Spark standalone cluster on this machine, from the project's own jars (no
# Spark download): one Master and two Workers (1 core and 1g each) on 127.0.0.1.
#
#   scripts/local-cluster.sh start     start them, wait until both workers are registered, print
#                                      the master URL (spark://127.0.0.1:7077) and the web UI URL
#   scripts/local-cluster.sh status    say what runs (exit 0: all of it, 3: nothing, 1: a part)
#   scripts/local-cluster.sh stop      stop the processes that 'start' started, and nothing else
#
# The Master, the Workers and the executors and drivers the Workers launch run from
# spark-jobs/target/cluster-home (their SPARK_HOME: jars/ holds the Spark/Hadoop runtime, copied
# by Maven's pre-integration-test phase); 'start' builds it, and target/quiver-spark.jar, with
# Maven when they are missing. Pids, logs and the workers' work and scratch folders go under
# spark-jobs/target/local-cluster/ (QUIVER_CLUSTER_DIR). Submit jobs with
#   scripts/quiver --master spark://127.0.0.1:7077 index ...          (client deploy mode)
# or with SparkSubmit in cluster deploy mode (docs/spark-jobs.md, "A standalone cluster on one
# machine").
#
# Environment (defaults in brackets):
#   QUIVER_CLUSTER_HOST [127.0.0.1]       address every process binds to
#   QUIVER_MASTER_PORT [7077]             the master's port (spark://HOST:PORT)
#   QUIVER_MASTER_UI_PORT [8080]          the master's web UI; its /json/ page is the cluster's state
#   QUIVER_WORKER_UI_PORT [8081]          the first worker's web UI; worker i uses this + i - 1
#   QUIVER_WORKERS [2]                    number of workers
#   QUIVER_WORKER_CORES [1]               cores each worker offers
#   QUIVER_WORKER_MEMORY [1g]             memory each worker offers to executors and drivers
#   QUIVER_DAEMON_MEMORY [512m]           heap of the Master and Worker JVMs themselves
#   QUIVER_CLUSTER_DIR [spark-jobs/target/local-cluster]   pids, logs, work folders
#   QUIVER_CLUSTER_TIMEOUT [120]          seconds 'start' waits for the workers to register
#   QUIVER_MVN [mvn]                      the Maven command 'start' builds with
#   QUIVER_NO_BUILD                       when set, 'start' fails instead of running Maven
#   JAVA_HOME                             which java to run (Java 17 to 24: Spark 4.1 fails on 25)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARK="$ROOT/spark-jobs"
CLUSTER_HOME="$SPARK/target/cluster-home"
JAR="$SPARK/target/quiver-spark.jar"
STATE="${QUIVER_CLUSTER_DIR:-$SPARK/target/local-cluster}"
HOST="${QUIVER_CLUSTER_HOST:-127.0.0.1}"
MASTER_PORT="${QUIVER_MASTER_PORT:-7077}"
MASTER_UI_PORT="${QUIVER_MASTER_UI_PORT:-8080}"
WORKER_UI_PORT="${QUIVER_WORKER_UI_PORT:-8081}"
WORKERS="${QUIVER_WORKERS:-2}"
WORKER_CORES="${QUIVER_WORKER_CORES:-1}"
WORKER_MEMORY="${QUIVER_WORKER_MEMORY:-1g}"
DAEMON_MEMORY="${QUIVER_DAEMON_MEMORY:-512m}"
TIMEOUT="${QUIVER_CLUSTER_TIMEOUT:-120}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
ME="local-cluster.sh"

die() {
  echo "$ME: $*" >&2
  exit 1
}

# a whole number in [min, max], or an error naming the variable
check_int() {
  local name="$1" value="$2" min="$3" max="$4"
  case "$value" in
    '' | *[!0-9]*) die "$name is '$value'; expected a whole number from $min to $max" ;;
  esac
  if [ "$value" -lt "$min" ] || [ "$value" -gt "$max" ]; then
    die "$name is $value; expected a whole number from $min to $max"
  fi
}

check_settings() {
  check_int QUIVER_MASTER_PORT "$MASTER_PORT" 1 65535
  check_int QUIVER_MASTER_UI_PORT "$MASTER_UI_PORT" 1 65535
  check_int QUIVER_WORKER_UI_PORT "$WORKER_UI_PORT" 1 $((65536 - WORKERS))
  check_int QUIVER_WORKERS "$WORKERS" 1 64
  check_int QUIVER_WORKER_CORES "$WORKER_CORES" 1 1024
  check_int QUIVER_CLUSTER_TIMEOUT "$TIMEOUT" 1 3600
  local m
  for m in "QUIVER_WORKER_MEMORY=$WORKER_MEMORY" "QUIVER_DAEMON_MEMORY=$DAEMON_MEMORY"; do
    [[ "${m#*=}" =~ ^[1-9][0-9]*[mMgG]$ ]] || die "${m%%=*} is '${m#*=}'; expected a size such as 512m or 2g"
  done
}

check_java() {
  if ! command -v "$JAVA" > /dev/null 2>&1; then
    if [ -n "${JAVA_HOME:-}" ]; then
      die "JAVA_HOME is $JAVA_HOME, but $JAVA is not an executable; point JAVA_HOME at a Java 17 (up to 24) installation"
    fi
    die "no 'java' on the PATH; install Java 17 (up to 24) or set JAVA_HOME"
  fi
  local version
  version="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  case "$version" in
    '' | *[!0-9]*) die "could not read the Java version of $JAVA ('$version'); Spark 4.1 needs Java 17 to 24" ;;
  esac
  if [ "$version" -lt 17 ] || [ "$version" -ge 25 ]; then
    die "$JAVA is Java $version; Spark 4.1 runs on Java 17 to 24 (it fails on 25): set JAVA_HOME"
  fi
}

# the runtime jars, the JVM flag list and the application jar, built with Maven when missing
ensure_built() {
  if ls "$CLUSTER_HOME"/jars/spark-core_*.jar > /dev/null 2>&1 && [ -f "$SPARK/target/jvm.options" ] && [ -f "$JAR" ]; then
    return
  fi
  if [ -n "${QUIVER_NO_BUILD:-}" ]; then
    die "$CLUSTER_HOME/jars or $JAR is missing and QUIVER_NO_BUILD is set; build them with: mvn -pl spark-jobs -am -DskipTests pre-integration-test"
  fi
  echo "$ME: building quiver-spark.jar and $CLUSTER_HOME/jars (mvn pre-integration-test, tests skipped; the first build downloads Spark)..." >&2
  # shellcheck disable=SC2086 # QUIVER_MVN may hold a command with options, e.g. "mvn -o"
  (cd "$ROOT" && ${QUIVER_MVN:-mvn} -q -B -pl spark-jobs -am -Dmaven.test.skip=true pre-integration-test) >&2 \
    || die "the Maven build failed (see above)"
  ls "$CLUSTER_HOME"/jars/spark-core_*.jar > /dev/null 2>&1 || die "the build did not write $CLUSTER_HOME/jars"
}

# true when something accepts connections on HOST:port
port_busy() {
  (exec 3<> "/dev/tcp/$HOST/$1") 2> /dev/null
}

# HTTP GET of a path on HOST:port, the body on stdout
http_get() {
  if command -v curl > /dev/null 2>&1; then
    curl -fsS --max-time 5 "http://$HOST:$1$2" 2> /dev/null
    return
  fi
  (
    exec 3<> "/dev/tcp/$HOST/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$HOST" >&3
    sed '1,/^\r*$/d' <&3
  ) 2> /dev/null
}

# pid in a pid file when that process is still the one 'start' launched (its command line names
# this cluster's folder), else nothing
live_pid() {
  local file="$STATE/$1.pid" pid args
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  case "$pid" in '' | *[!0-9]*) return 0 ;; esac
  args="$(ps -ww -o args= -p "$pid" 2> /dev/null || true)"
  case "$args" in
    *"-Dquiver.local-cluster=$STATE "*) echo "$pid" ;;
  esac
}

names() {
  local i
  for ((i = 1; i <= WORKERS; i++)); do echo "worker-$i"; done
  echo master
}

# the settings a running cluster was started with (status and stop read them, not the environment)
load_started_settings() {
  if [ -f "$STATE/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$STATE/cluster.env"
  fi
}

json_field() {
  sed -n "s/^ *\"$1\" *: *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\} *$/\1/p" | head -n 1
}

# starts one daemon in the background, in a session of its own, with its log and pid file
launch() {
  local name="$1"
  shift
  local flags=()
  read -r -a flags < "$SPARK/target/jvm.options"
  mkdir -p "$STATE/tmp"
  # SPARK_HOME and SPARK_SCALA_VERSION: how a worker finds the jars of the executors and drivers
  # it launches; those inherit SPARK_LOCAL_IP and SPARK_LOCAL_DIRS (their scratch space) too
  SPARK_HOME="$CLUSTER_HOME" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP="$HOST" SPARK_LOCAL_DIRS="$STATE/local" \
    SPARK_CONF_DIR="$STATE/conf" \
    ${SETSID:+"$SETSID"} nohup "$JAVA" "${flags[@]}" "-Xmx$DAEMON_MEMORY" "-Dquiver.local-cluster=$STATE" \
    "-Djava.io.tmpdir=$STATE/tmp" -Dspark.port.maxRetries=0 -Dspark.ui.showConsoleProgress=false \
    -cp "$CLUSTER_HOME/jars/*" "$@" > "$STATE/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/$name.pid"
}

print_urls() {
  echo "master: spark://$HOST:$MASTER_PORT"
  echo "web UI: http://$HOST:$MASTER_UI_PORT"
}

start() {
  check_settings
  local n running=""
  for n in $(names); do
    if [ -n "$(live_pid "$n")" ]; then running+="${running:+, }$n"; fi
  done
  if [ -n "$running" ]; then
    die "a cluster started from $STATE is running ($running); run '$0 stop' first, or set QUIVER_CLUSTER_DIR to start another"
  fi
  check_java
  local port var i
  for var in "QUIVER_MASTER_PORT=$MASTER_PORT" "QUIVER_MASTER_UI_PORT=$MASTER_UI_PORT"; do
    port="${var#*=}"
    if port_busy "$port"; then
      die "port $port on $HOST (${var%%=*}) is in use by another process; stop it or choose another port, e.g. ${var%%=*}=$((port + 100)) $0 start"
    fi
  done
  for ((i = 0; i < WORKERS; i++)); do
    port=$((WORKER_UI_PORT + i))
    if port_busy "$port"; then
      die "port $port on $HOST (worker $((i + 1))'s web UI: QUIVER_WORKER_UI_PORT + $i) is in use by another process; stop it or choose another QUIVER_WORKER_UI_PORT"
    fi
  done
  ensure_built

  SETSID="$(command -v setsid || true)"
  # what an earlier run left (only the names this script writes: QUIVER_CLUSTER_DIR may hold more)
  rm -rf "$STATE"/work-* "$STATE/local" "$STATE/tmp" "$STATE/conf"
  rm -f "$STATE"/*.pid "$STATE"/*.log "$STATE/cluster.env" "$STATE/master-url"
  mkdir -p "$STATE/conf" "$STATE/local"
  cat > "$STATE/cluster.env" << EOF
HOST=$HOST
MASTER_PORT=$MASTER_PORT
MASTER_UI_PORT=$MASTER_UI_PORT
WORKER_UI_PORT=$WORKER_UI_PORT
WORKERS=$WORKERS
EOF
  launch master org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
  for ((i = 1; i <= WORKERS; i++)); do
    mkdir -p "$STATE/work-$i"
    launch "worker-$i" org.apache.spark.deploy.worker.Worker \
      --host "$HOST" --port 0 --webui-port $((WORKER_UI_PORT + i - 1)) \
      --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$STATE/work-$i" \
      "spark://$HOST:$MASTER_PORT"
  done

  # ready when the master's /json/ page counts every worker alive
  local deadline=$((SECONDS + TIMEOUT)) alive="" json
  while :; do
    for n in $(names); do
      if [ -z "$(live_pid "$n")" ]; then
        echo "$ME: the $n process exited during start; the end of $STATE/$n.log:" >&2
        tail -n 20 "$STATE/$n.log" >&2 || true
        stop > /dev/null
        exit 1
      fi
    done
    json="$(http_get "$MASTER_UI_PORT" /json/ || true)"
    alive="$(printf '%s\n' "$json" | json_field aliveworkers)"
    if [ "${alive:-0}" -ge "$WORKERS" ]; then
      break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$ME: after ${TIMEOUT}s the master counts ${alive:-no} alive workers of $WORKERS; logs in $STATE" >&2
      stop > /dev/null
      exit 1
    fi
    sleep 1
  done
  echo "spark://$HOST:$MASTER_PORT" > "$STATE/master-url"
  print_urls
  echo "workers: $WORKERS ($WORKER_CORES core(s), $WORKER_MEMORY each); logs, pids and work folders in $STATE"
  echo "stop with: $0 stop"
}

status() {
  load_started_settings
  local n pid up=0 down=0
  for n in $(names); do
    pid="$(live_pid "$n")"
    if [ -n "$pid" ]; then
      echo "$n: running (pid $pid)"
      up=$((up + 1))
    else
      echo "$n: not running"
      down=$((down + 1))
    fi
  done
  if [ -n "$(live_pid master)" ]; then
    local json
    json="$(http_get "$MASTER_UI_PORT" /json/ || true)"
    print_urls
    if [ -n "$json" ]; then
      echo "alive workers: $(printf '%s\n' "$json" | json_field aliveworkers), status: $(printf '%s\n' "$json" | json_field status)"
    else
      echo "the master's web UI does not answer"
    fi
  fi
  if [ "$down" -eq 0 ]; then return 0; fi
  if [ "$up" -eq 0 ]; then return 3; fi
  return 1
}

# SIGTERM, then SIGKILL after 20 s
end_process() {
  local name="$1" pid="$2" i
  kill "$pid" 2> /dev/null || return 0
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2> /dev/null || { echo "$name: stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2> /dev/null || true
  echo "$name: killed (pid $pid did not stop within 20 s of SIGTERM)"
}

stop() {
  load_started_settings
  local n pid any=0
  # workers first: on SIGTERM a worker ends the executors and drivers it launched
  for n in $(names); do
    pid="$(live_pid "$n")"
    if [ -n "$pid" ]; then
      any=1
      end_process "$n" "$pid"
    fi
    rm -f "$STATE/$n.pid"
  done
  # an executor or driver JVM left behind by a worker that was killed: its working directory is
  # inside a worker's work folder (Linux /proc only)
  if [ -d /proc/self ] && [ -d "$STATE" ]; then
    local proc cwd
    for proc in /proc/[0-9]*; do
      cwd="$(readlink "$proc/cwd" 2> /dev/null || true)"
      case "$cwd" in
        "$STATE"/work-*)
          case "$(ps -ww -o args= -p "${proc#/proc/}" 2> /dev/null || true)" in
            *java*) end_process "a JVM launched by a worker" "${proc#/proc/}" ;;
          esac
          ;;
      esac
    done
  fi
  if [ "$any" -eq 0 ]; then
    echo "no cluster started from $STATE is running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *)
    echo "usage: $0 start|stop|status   ('$0 --help' for the settings)" >&2
    exit 2
    ;;
esac
