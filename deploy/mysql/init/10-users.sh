#!/bin/bash
# Creates the ShareStack database and its least-privilege accounts (application, replication,
# backup) on first start of a stock mysql:8.0 or mariadb:10.11 container; the entrypoint runs
# every file in /docker-entrypoint-initdb.d once, on an empty data directory.
#
# Environment (compose passes these; all passwords are required):
#   MYSQL_APP_DATABASE          application database (default: sharestack)
#   MYSQL_APP_PASSWORD          password of 'sharestack', the application account
#   MYSQL_REPLICATION_PASSWORD  password of 'repl' (replicas, binlog archiver)
#   MYSQL_BACKUP_PASSWORD       password of 'backup' (deploy/backup)
#   MYSQL_CLIENT_HOST           host part of the accounts (default: % — the compose network)
#
# The entrypoint sources this file (it is not executable), so it runs in a subshell to keep the
# strict mode from leaking into the entrypoint.
(
  set -euo pipefail
  here=$(dirname "${BASH_SOURCE[0]}")
  if command -v mariadbd >/dev/null 2>&1; then template=$here/users.mariadb.sql.in; client=mariadb
  else template=$here/users.mysql.sql.in; client=mysql; fi

  # SQL string literal: escape backslashes (the default sql_mode treats them as escapes), double
  # single quotes. Replacements are quoted below: bash 5.2 would otherwise treat '&' and '\' in
  # them specially (patsub_replacement).
  quote() {
    local v=$1 bs=$'\\' q="'"
    v=${v//"$bs"/"$bs$bs"}
    printf '%s' "${v//"$q"/"$q$q"}"
  }
  db=${MYSQL_APP_DATABASE:-sharestack}
  [[ $db =~ ^[A-Za-z0-9_]+$ ]] || { echo "MYSQL_APP_DATABASE: letters, digits, _ only" >&2; exit 1; }
  sql=$(<"$template")
  sql=${sql//'{{APP_DB}}'/"$db"}
  sql=${sql//'{{CLIENT_HOST}}'/"$(quote "${MYSQL_CLIENT_HOST:-%}")"}
  sql=${sql//'{{APP_PASSWORD}}'/"$(quote "${MYSQL_APP_PASSWORD:?set MYSQL_APP_PASSWORD}")"}
  sql=${sql//'{{REPL_PASSWORD}}'/"$(quote "${MYSQL_REPLICATION_PASSWORD:?set MYSQL_REPLICATION_PASSWORD}")"}
  sql=${sql//'{{BACKUP_PASSWORD}}'/"$(quote "${MYSQL_BACKUP_PASSWORD:?set MYSQL_BACKUP_PASSWORD}")"}

  if declare -F docker_process_sql >/dev/null; then
    docker_process_sql <<<"$sql"
  else
    "$client" --protocol=socket -uroot ${MYSQL_ROOT_PASSWORD:+-p"$MYSQL_ROOT_PASSWORD"} <<<"$sql"
  fi
  echo "sharestack: accounts created for database $db" >&2
)
