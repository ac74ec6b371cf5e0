#!/usr/bin/env bash
# make bench: starts a throwaway pilot Hub in a temporary home on free,
# non-default ports, licenses it, bootstraps an admin, signs in, runs
# `exekra-loadgen --scenario bench` against it (floor, API reads,
# heartbeats, jobs, schedules) and stops and removes everything again.
#
# Needs the binaries in bin/ (make bench builds them). Knobs (environment):
#   BENCH_RUNNERS=25000  BENCH_INTERVAL=15s  BENCH_DURATION=45s  heartbeat part
#   BENCH_JOB_RUNNERS=1000  BENCH_JOBS=4000  BENCH_CLIENTS=32    jobs part
#   BENCH_CREATE_BATCH=1 jobs part: jobs per create request (2..100: POST /api/v1/job-batches)
#   BENCH_CLAIM_START=0  jobs part: a log upload takes each job up (by default the runners'
#                        claims take their jobs up, Exekra-Claim-Start, as the agent's do)
#   BENCH_CONCURRENCY=64  BENCH_MEASURE=20s                      floor and api-reads
#   BENCH_SCHEDULES=10000  BENCH_SCHEDULES_MEASURE=3m            schedules part (0 schedules: left out)
#   BENCH_FAILOVER_RUNNERS=200  failover part: runners holding claims across two runners
#                        instances when one is killed (0: left out)
#   BENCH_OUT=FILE       also write the loadgen output to FILE
#   BENCH_KEEP=1         keep the temporary home (logs) after the run
#   BENCH_SCENARIO=bench the loadgen scenario (bench, reads, api-reads, jobs, schedules, heartbeat, failover, floor)
#   BENCH_PPROF=DIR      write a CPU profile of each Hub process to DIR/<process>.pprof,
#                        taken over BENCH_PPROF_SECONDS (15) after BENCH_PPROF_DELAY (5) s
#   BENCH_HEAP=DIR       write the heap and goroutine profiles of each Hub process to
#                        DIR/<process>.heap.pprof and DIR/<process>.goroutine.pprof, taken
#                        when the gateway had the most goroutines (its most connections:
#                        the peak of the heartbeat part), looked at every BENCH_HEAP_EVERY (5) s;
#                        DIR/gateway.goroutines.txt has that count, DIR/gateway.heap.txt the
#                        gateway's heap profile as text ending with its runtime.MemStats. Read with
#                        go tool pprof -sample_index=inuse_space -top DIR/gateway.heap.pprof
#   BENCH_SATURATE=N     saturation mode: N busy processes (one per core to take) run beside
#                        the Hub and the load generator for the whole run; every part must
#                        still report 0 errors, only slower numbers (docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$PWD/bin
for b in exekra-hub exekractl exekra-loadgen; do
  [ -x "$bin/$b" ] || { echo "bench: $bin/$b is missing: run make bench" >&2; exit 1; }
done
deploy/scripts/debian-deps.sh pilot
missing=()
for tool in curl jq; do command -v $tool >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "bench: missing ${missing[*]} — run: sudo apt-get install -y ${missing[*]}" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# 25,000 runners are 25,000 connections in the gateway and in the load
# generator: as the systemd units' LimitNOFILE, where the caller may.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# Under a lower limit (one the caller may not raise) the heartbeat part runs
# the runners that fit, keeping 2,000 files for everything else: its target,
# set at 25,000, is then reported as not met rather than the run failing.
nofile=$(ulimit -n)
if [ -z "${BENCH_RUNNERS:-}" ] && [ "$nofile" != unlimited ] && [ "$nofile" -lt 27000 ]; then
  BENCH_RUNNERS=$(( nofile > 3000 ? (nofile - 2000) / 1000 * 1000 : 1000 ))
  echo "bench: the open-files limit is $nofile: the heartbeat part runs $BENCH_RUNNERS runners, not 25,000" >&2
fi

# The home lives under /tmp with traversable parents, so the private
# PostgreSQL's unprivileged user (when run as root) can reach it.
home=$(mktemp -d /tmp/exekra-bench-XXXXXX)
chmod 755 "$home"
hub_pid=
stop() {
  if [ -n "$hub_pid" ]; then
    kill -TERM "$hub_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
  fi
  # The failover part's second runners instance, should the load generator have died before killing it.
  pkill -KILL -f "exekra-runners --home $home" 2>/dev/null || true
  if [ "${BENCH_KEEP:-}" = 1 ]; then echo "bench: kept $home" >&2; else rm -rf "$home"; fi
}
hog_pids=()
stop_hogs() {
  for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  hog_pids=()
}
trap 'stop_hogs; stop' EXIT
trap 'exit 130' INT TERM

# free_port NAME sets the variable NAME to a TCP port on 127.0.0.1 that
# nothing listens on, never the same twice in one run (it runs in this
# shell, not in a $(...) subshell, so that it remembers the ports it gave),
# from a range away from the pilot's defaults and below the kernel's
# ephemeral range (net.ipv4.ip_local_port_range), whose ports any outgoing
# connection (the load generator's 10,000) may take before the Hub binds
# them.
taken=" "
read -r eph_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_low=32768
port_low=20000
[ "$eph_low" -gt $((port_low + 2000)) ] || port_low=$((eph_low > 3000 ? eph_low - 3000 : 1024))
free_port() {
  local _p
  while :; do
    _p=$((port_low + RANDOM % (eph_low - port_low)))
    case "$taken" in *" $_p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$_p") 2>/dev/null; then
      taken+="$_p "
      printf -v "$1" '%s' "$_p"
      return
    fi
  done
}
declare -A port
for key in GATEWAY_LISTEN GATEWAY_METRICS_LISTEN IDENTITY_METRICS_LISTEN LICENSING_METRICS_LISTEN \
  RUNNERS_METRICS_LISTEN AUDIT_METRICS_LISTEN SUPERVISOR_METRICS_LISTEN NATS_LISTEN REDIS_LISTEN DATABASE_PRIVATE_LISTEN; do
  free_port p
  port[$key]=$p
done
free_port failover_metrics_port # the failover part's second runners instance

"$bin/exekractl" license keygen --out "$home/vendor" >/dev/null
env_args=()
for key in "${!port[@]}"; do env_args+=("EXEKRA_$key=127.0.0.1:${port[$key]}"); done
# Only this Hub's settings: no EXEKRA_* of the caller's environment.
env $(env | grep -o '^EXEKRA_[A-Z_]*' | sed 's/^/-u /') "${env_args[@]}" \
  EXEKRA_LICENSE_PUBLIC_KEYS="$(cat "$home/vendor/license.pub")" \
  "$bin/exekra-hub" --home "$home" >"$home/hub.out" 2>&1 &
hub_pid=$!

gw="https://127.0.0.1:${port[GATEWAY_LISTEN]}"
echo "bench: pilot Hub in $home at $gw (pid $hub_pid), waiting for /api/health" >&2
for i in $(seq 1 180); do
  [ "$(curl -sk -o /dev/null -w '%{http_code}' "$gw/api/health")" = 200 ] && break
  kill -0 "$hub_pid" 2>/dev/null || { echo "bench: exekra-hub exited:" >&2; tail -30 "$home/hub.out" >&2; exit 1; }
  [ "$i" = 180 ] && { echo "bench: the Hub was not healthy within 90s" >&2; tail -30 "$home/hub.out" >&2; exit 1; }
  sleep 0.5
done
ca=$home/config/certs/hub.crt
api() { # api METHOD PATH JSON-BODY [TOKEN]
  curl -sS --fail-with-body --cacert "$ca" -X "$1" -H 'Content-Type: application/json' \
    ${4:+-H "Authorization: Bearer $4"} --data "$3" "$gw$2"
}

email=bench@exekra.test
password="bench-$(date +%s)-$RANDOM$RANDOM"
"$bin/exekractl" license issue --key "$home/vendor/license.key" --licensee "Exekra bench" \
  --admin-email "$email" --max-runners 100000 --expires "$(date -u -d '+1 year' +%F)" \
  --mode offline --out "$home/license.txt" >/dev/null
api POST /api/v1/license "$(jq -Rs '{license: .}' "$home/license.txt")" >/dev/null
api POST /api/v1/setup/bootstrap "$(jq -n --arg e "$email" --arg p "$password" '{email: $e, password: $p, name: "Bench Admin"}')" >/dev/null
api POST /api/v1/auth/login "$(jq -n --arg e "$email" --arg p "$password" '{email: $e, password: $p}')" |
  jq -r .token >"$home/token"
chmod 600 "$home/token"

metrics=
metrics_token=$home/var/credentials/metrics.token # the pilot's metrics.token_file
# pprof, like /metrics, needs that token: curl reads the header from a file, so
# that it never shows in a process list.
metrics_auth=$home/metrics-auth.header
( umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$metrics_token")" >"$metrics_auth" )
for key in GATEWAY IDENTITY LICENSING RUNNERS AUDIT SUPERVISOR; do
  metrics+="${metrics:+,}http://127.0.0.1:${port[${key}_METRICS_LISTEN]}/metrics"
done
db="postgres://exekra:$(cat "$home/var/pg-password")@127.0.0.1:${port[DATABASE_PRIVATE_LISTEN]}/exekra?sslmode=disable"

# The failover part's second runners instance: the pilot's own settings and
# the connections the supervisor hands its children, its own metrics port and
# log directory. The load generator runs it, then kills it (SIGKILL).
failover=()
if [ "${BENCH_FAILOVER_RUNNERS:-200}" -gt 0 ]; then
  (
    umask 077
    {
      echo '#!/bin/sh'
      for kv in "${env_args[@]}"; do printf 'export %q\n' "$kv"; done
      printf 'export %q\n' "EXEKRA_LICENSE_PUBLIC_KEYS=$(cat "$home/vendor/license.pub")" \
        "EXEKRA_NATS_URL=nats://127.0.0.1:${port[NATS_LISTEN]}" "EXEKRA_REDIS_URL=redis://127.0.0.1:${port[REDIS_LISTEN]}/0" \
        "EXEKRA_DATABASE_URL=$db" "EXEKRA_RUNNERS_METRICS_LISTEN=127.0.0.1:$failover_metrics_port" \
        "EXEKRA_LOG_DIR=$home/logs/runners-failover" "EXEKRA_LOG_STDOUT=false"
      printf 'exec %q --home %q\n' "$bin/exekra-runners" "$home"
    } >"$home/runners-failover"
    chmod 700 "$home/runners-failover"
  )
  failover=(--failover-instance "$home/runners-failover" --failover-runners "${BENCH_FAILOVER_RUNNERS:-200}")
fi
echo "bench: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory" >&2
if [ "${BENCH_SATURATE:-0}" -gt 0 ]; then
  # A CPU hog per core taken: the Hub must be slower, never wrong.
  for _ in $(seq 1 "$BENCH_SATURATE"); do
    ( while :; do :; done ) &
    hog_pids+=($!)
  done
  echo "bench: saturation mode: $BENCH_SATURATE busy process(es) beside the Hub (pids ${hog_pids[*]})" >&2
fi
if [ -n "${BENCH_PPROF:-}" ]; then
  mkdir -p "$BENCH_PPROF"
  (
    sleep "${BENCH_PPROF_DELAY:-5}"
    for key in GATEWAY IDENTITY LICENSING RUNNERS AUDIT SUPERVISOR; do
      curl -s -H "@$metrics_auth" -o "$BENCH_PPROF/${key,,}.pprof" \
        "http://127.0.0.1:${port[${key}_METRICS_LISTEN]}/debug/pprof/profile?seconds=${BENCH_PPROF_SECONDS:-15}" &
    done
    wait
  ) &
fi
if [ -n "${BENCH_HEAP:-}" ]; then
  # pprof with the metrics token, as for BENCH_PPROF. The profiles are kept
  # from the look at which the gateway's goroutine count (about its
  # connections) was highest.
  mkdir -p "$BENCH_HEAP"
  (
    most=0
    while kill -0 "$hub_pid" 2>/dev/null; do
      sleep "${BENCH_HEAP_EVERY:-5}"
      n=$(curl -s -H "@$metrics_auth" "http://127.0.0.1:${port[GATEWAY_METRICS_LISTEN]}/debug/pprof/goroutine?debug=1" |
        sed -n '1s/^goroutine profile: total //p')
      [ -n "$n" ] && [ "$n" -gt "$most" ] || continue
      most=$n
      for key in GATEWAY IDENTITY LICENSING RUNNERS AUDIT SUPERVISOR; do
        for kind in heap goroutine; do
          curl -s -H "@$metrics_auth" -o "$BENCH_HEAP/${key,,}.$kind.pprof.tmp" \
            "http://127.0.0.1:${port[${key}_METRICS_LISTEN]}/debug/pprof/$kind" &&
            mv "$BENCH_HEAP/${key,,}.$kind.pprof.tmp" "$BENCH_HEAP/${key,,}.$kind.pprof"
        done
      done
      # The text form ends with the gateway's runtime.MemStats (heap, stacks, GC goal).
      curl -s -H "@$metrics_auth" -o "$BENCH_HEAP/gateway.heap.txt" "http://127.0.0.1:${port[GATEWAY_METRICS_LISTEN]}/debug/pprof/heap?debug=1"
      echo "$most" >"$BENCH_HEAP/gateway.goroutines.txt"
    done
  ) &
fi
claim_start=()
if [ "${BENCH_CLAIM_START:-}" = 0 ]; then claim_start=(--claim-start=false); fi
"$bin/exekra-loadgen" --scenario "${BENCH_SCENARIO:-bench}" --hub "$gw" --ca "$ca" --token-file "$home/token" --metrics "$metrics" --metrics-token-file "$metrics_token" --hub-pid "$hub_pid" \
  --nats "nats://127.0.0.1:${port[NATS_LISTEN]}" --nats-credentials "$home/var/credentials" --database-url "$db" \
  --concurrency "${BENCH_CONCURRENCY:-64}" --measure "${BENCH_MEASURE:-20s}" \
  --runners "${BENCH_RUNNERS:-25000}" --saturated "${BENCH_SATURATE:-0}" --interval "${BENCH_INTERVAL:-15s}" --duration "${BENCH_DURATION:-45s}" \
  --job-runners "${BENCH_JOB_RUNNERS:-1000}" --jobs "${BENCH_JOBS:-4000}" --clients "${BENCH_CLIENTS:-32}" \
  --create-batch "${BENCH_CREATE_BATCH:-1}" \
  "${claim_start[@]}" \
  --claim-wait 5s --pickup-jobs 200 \
  --schedules "${BENCH_SCHEDULES:-10000}" --schedules-measure "${BENCH_SCHEDULES_MEASURE:-3m}" \
  "${failover[@]}" | tee "${BENCH_OUT:-/dev/null}"
