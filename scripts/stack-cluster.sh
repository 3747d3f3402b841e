# scripts/stack-cluster.sh - the cluster half of scripts/stack (sourced by
# it, never run): `scripts/stack up --instances N` with N >= 2.
#
# Starts Debian's redis-server on its own loopback port (no persistence,
# the default user off, one ACL user for the gateways' keys), N gateways
# sharing it through cluster.redis (each with its own audit log, origin and
# checkpoint key; with --witnesses each witnessing all the others), and
# HAProxy in TCP mode in front, so mutual TLS stays
# end to end.  stack.json gains "gateways", "lb" and "redis" (DESIGN
# section 7); its "gateway" is instance 1 seen through the load balancer.
#
# Needs: redis-server, redis-cli (redis-tools), haproxy, openssl, python3.

# A free loopback TCP port (the kernel's pick, released just before use).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts redis-server; sets nothing, prints the "redis" section of stack.json.
# REDIS_PORT may be preset (a restart on the same port).
start_redis() {
  local conf=$DIR/redis.conf log=$DIR/redis.log pw port
  mkdir -p -- "$DIR/pki/redis" "$DIR/redis"
  chmod 700 "$DIR/pki/redis"
  [[ -f "$DIR/pki/redis/password" ]] || openssl rand -hex 24 >"$DIR/pki/redis/password"
  [[ -f "$DIR/pki/redis/seal.key" ]] || openssl rand -hex 32 >"$DIR/pki/redis/seal.key"
  chmod 600 "$DIR/pki/redis/password" "$DIR/pki/redis/seal.key"
  pw=$(<"$DIR/pki/redis/password")
  port=${REDIS_PORT:-$(free_port)}
  {
    echo "bind 127.0.0.1"
    echo "port $port"
    echo "protected-mode yes"
    echo "daemonize no"
    echo "dir $DIR/redis"
    echo 'save ""'
    echo "appendonly no"
    echo "maxmemory 256mb"
    echo "maxmemory-policy volatile-lru"
    echo "user default off"
    echo "user gw on >$pw ~gw:* &* +@all -@dangerous"
  } >"$conf"
  chmod 600 "$conf"
  redis-server "$conf" </dev/null >>"$log" 2>&1 &
  local pid=$! deadline=$((SECONDS + READY_TIMEOUT_S))
  echo "$pid" >"$DIR/redis.pid"
  until redis-cli -h 127.0.0.1 -p "$port" --user gw --pass "$pw" --no-auth-warning ping 2>/dev/null \
        | grep -q PONG; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail "$log"
      die "redis-server exited during start-up (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$log"
      die "redis-server not ready after ${READY_TIMEOUT_S}s (log: $log)"
    fi
    sleep 0.05
  done
  jq -n --argjson pid "$pid" --argjson port "$port" --arg conf "$conf" --arg log "$log" \
        --arg pw "$DIR/pki/redis/password" --arg seal "$DIR/pki/redis/seal.key" \
    '{host: "127.0.0.1", port: $port, pid: $pid, user: "gw", password_file: $pw,
      seal_key: $seal, config: $conf, log: $log}'
}

# Starts HAProxy in TCP mode before the gateways GWS (a JSON array of their
# stack.json sections): each server's API port checked (TCP connect) every
# 300 ms, a refused connection tried on another server.  (An HTTP check of
# /readyz on the ops port was answered but HAProxy 2.6 called the answer
# invalid; a TCP check sees a dead or draining instance just as well.)  Prints the "lb"
# section of stack.json.
start_lb() {
  local gws=$1 conf=$DIR/haproxy.cfg log=$DIR/haproxy.log port i n
  port=$(free_port)
  n=$(jq length <<<"$gws")
  {
    echo "global"
    echo "    maxconn 8000"
    echo "defaults"
    echo "    mode tcp"
    echo "    timeout connect 2s"
    echo "    timeout client 60s"
    echo "    timeout server 60s"
    echo "    retries 2"
    echo "    option redispatch"
    echo "frontend api"
    echo "    bind 127.0.0.1:$port"
    echo "    default_backend gateways"
    echo "backend gateways"
    echo "    balance roundrobin"
    echo "    default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions"
    for ((i = 0; i < n; i++)); do
      printf '    server gw%d %s check\n' $((i + 1)) \
        "$(jq -r ".[$i].url" <<<"$gws" | sed 's#https://##')"
    done
  } >"$conf"
  haproxy -c -f "$conf" >/dev/null 2>>"$log" || { log_tail "$log"; die "haproxy refused $conf"; }
  haproxy -db -f "$conf" </dev/null >>"$log" 2>&1 &
  local pid=$! deadline=$((SECONDS + READY_TIMEOUT_S))
  echo "$pid" >"$DIR/haproxy.pid"
  until curl -fsS --max-time 2 -o /dev/null --cacert "$DIR/pki/gateway-ca.pem" \
          --cert "$DIR/pki/clients/engine.pem" --key "$DIR/pki/clients/engine.key" \
          "https://127.0.0.1:$port/readyz" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail "$log"
      die "haproxy exited during start-up (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$log"
      die "haproxy not ready after ${READY_TIMEOUT_S}s (log: $log)"
    fi
    sleep 0.05
  done
  jq -n --argjson pid "$pid" --argjson port "$port" --arg conf "$conf" --arg log "$log" \
    '{url: "https://127.0.0.1:\($port)", pid: $pid, config: $conf, log: $log}'
}

# --witnesses: before any instance starts, every instance's API port (so
# each config can name its peers), checkpoint key and witness key, with
# their public halves for the peers.
witness_setup() {
  local i ck
  for ((i = 1; i <= INSTANCES; i++)); do
    WITNESS_PORT[$i]=$(free_port)
    ck=pki/gateway/checkpoint-$i.key
    ((i == 1)) && ck=pki/gateway/checkpoint.key
    [[ -f "$DIR/$ck" ]] || openssl genpkey -algorithm ed25519 -out "$DIR/$ck" 2>/dev/null \
      || die "cannot make $ck"
    openssl pkey -in "$DIR/$ck" -pubout -out "$DIR/pki/gateway/checkpoint-$i.pub.pem" 2>/dev/null \
      || die "cannot read $ck"
    openssl genpkey -algorithm ed25519 -out "$DIR/pki/gateway/witness-$i.key" 2>/dev/null \
      && openssl pkey -in "$DIR/pki/gateway/witness-$i.key" -pubout \
           -out "$DIR/pki/gateway/witness-$i.pub.pem" 2>/dev/null || die "cannot make witness-$i.key"
  done
}

# The audit.witness section of instance IDX: every other instance a peer.
witness_settings() {
  local idx=$1 j peers='[]'
  for ((j = 1; j <= INSTANCES; j++)); do
    ((j == idx)) && continue
    peers=$(jq --arg g "gw-stack-$j" --arg u "https://127.0.0.1:${WITNESS_PORT[$j]}" \
               --arg lk "pki/gateway/checkpoint-$j.pub.pem" --arg wk "pki/gateway/witness-$j.pub.pem" \
               '. + [{gateway_id: $g, url: $u, log_key: $lk, witness_key: $wk}]' <<<"$peers")
  done
  jq --argjson peers "$peers" --argjson port "${WITNESS_PORT[$idx]}" --arg k "pki/gateway/witness-$idx.key" \
    '.listen.port = $port
     | .audit.witness = {key: $k, ca: "pki/gateway-ca.pem",
                         client_cert: "pki/clients/peer.pem", client_key: "pki/clients/peer.key",
                         timeout_ms: 5000, peers: $peers}'
}

# The cluster settings of instance IDX's config (stdin -> stdout).
cluster_settings() {
  local idx=$1
  jq --argjson port "$REDIS_PORT" --argjson n "$INSTANCES" \
    '.cluster = {instances: $n,
                 redis: {host: "127.0.0.1", port: $port, user: "gw",
                         password: "file:pki/redis/password",
                         seal_key: "pki/redis/seal.key", key_prefix: "gw:"}}' |
    if ((WITNESSES)); then witness_settings "$idx"; else cat; fi
}

cmd_up_cluster() {
  local mocks=$1 redis gws='[]' gw lb i
  need_tools redis-server redis-cli haproxy openssl python3
  redis=$(start_redis) || { cmd_down >/dev/null; exit 1; }
  REDIS_PORT=$(jq .port <<<"$redis")
  declare -gA WITNESS_PORT=()
  ((WITNESSES)) && witness_setup
  for ((i = 1; i <= INSTANCES; i++)); do
    gw=$(start_gateway "$mocks" "$i") || { cmd_down >/dev/null; exit 1; }
    gws=$(jq --argjson g "$gw" '. + [$g]' <<<"$gws")
  done
  lb=$(start_lb "$gws") || { cmd_down >/dev/null; exit 1; }
  write_stack_json "$mocks" "$(jq --argjson lb "$lb" '.[0] + {url: $lb.url}' <<<"$gws")" \
    "$(jq -n --argjson g "$gws" --argjson lb "$lb" --argjson r "$redis" \
         '{gateways: $g, lb: $lb, redis: $r}')"
  echo "stack: up in $DIR (stack.json, $INSTANCES gateways behind the load balancer)"
}

# Stops what cmd_up_cluster started (nothing when it was not).
cmd_down_cluster() {
  local f
  stop_pid "$DIR/haproxy.pid" haproxy
  for f in "$DIR"/gateway-*.pid; do
    [[ -f "$f" ]] && stop_pid "$f" gatewayd
  done
  stop_pid "$DIR/redis.pid" redis-server
}
