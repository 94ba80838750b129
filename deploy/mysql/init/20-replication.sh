#!/bin/bash
# On a replica container (MYSQL_REPLICATION_SOURCE_HOST set), points replication at the primary
# by GTID auto-positioning and starts it. Both servers were initialised from empty data
# directories and created their accounts with the binary log off (10-users.sh), so the replica
# simply applies the primary's whole binary log from the first GTID.
# A replica added to a primary that already holds data is seeded from a backup instead:
# docs/operations.md, "Add a replica".
#
# Environment: MYSQL_REPLICATION_SOURCE_HOST, MYSQL_REPLICATION_SOURCE_PORT (default 3306),
#              MYSQL_REPLICATION_PASSWORD.
(
  set -euo pipefail
  [ -n "${MYSQL_REPLICATION_SOURCE_HOST:-}" ] || exit 0
  quote() {
    local v=$1 bs=$'\\' q="'"
    v=${v//"$bs"/"$bs$bs"}
    printf '%s' "${v//"$q"/"$q$q"}"
  }
  host=$(quote "$MYSQL_REPLICATION_SOURCE_HOST")
  port=${MYSQL_REPLICATION_SOURCE_PORT:-3306}
  [[ $port =~ ^[0-9]+$ ]] || { echo "MYSQL_REPLICATION_SOURCE_PORT must be a number" >&2; exit 1; }
  password=$(quote "${MYSQL_REPLICATION_PASSWORD:?set MYSQL_REPLICATION_PASSWORD}")
  if command -v mariadbd >/dev/null 2>&1; then
    client=mariadb
    sql="CHANGE MASTER TO MASTER_HOST='$host', MASTER_PORT=$port, MASTER_USER='repl',
           MASTER_PASSWORD='$password', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;
         START SLAVE;"
  else
    client=mysql
    # GET_SOURCE_PUBLIC_KEY: repl uses caching_sha2_password over a non-TLS network.
    sql="CHANGE REPLICATION SOURCE TO SOURCE_HOST='$host', SOURCE_PORT=$port, SOURCE_USER='repl',
           SOURCE_PASSWORD='$password', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1,
           SOURCE_CONNECT_RETRY=5;
         START REPLICA;"
  fi
  if declare -F docker_process_sql >/dev/null; then
    docker_process_sql <<<"$sql"
  else
    "$client" --protocol=socket -uroot ${MYSQL_ROOT_PASSWORD:+-p"$MYSQL_ROOT_PASSWORD"} <<<"$sql"
  fi
  echo "sharestack: replicating from $MYSQL_REPLICATION_SOURCE_HOST:$port" >&2
)
