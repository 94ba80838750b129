#!/usr/bin/env bash
# ShareStack database backups: the entry point the compose `backup` service runs.
#
# Usage:
#   backup.sh                    one full backup now (from a healthy replica if one is listed,
#                                else the primary), then apply the retention policy
#   backup.sh schedule           run forever: stream binary logs continuously (for point-in-time
#                                recovery) and take a full backup every day at $BACKUP_AT (UTC)
#   backup.sh <command> [args]   any command of `python -m sharestack.ops.backup`:
#                                restore, verify, check, list, prune, archive-binlogs
#
# Environment (see docs/operations.md):
#   BACKUP_DIR                 where backups and archived binlogs live (default /backups)
#   BACKUP_SOURCE_URLS         mysql://backup:PASSWORD@replica:3306/sharestack[,mysql://...primary]
#   BACKUP_BINLOG_SOURCE_URL   mysql://repl:PASSWORD@primary:3306 (binlog streaming)
#   BACKUP_AT                  daily backup time, HH:MM UTC (default 03:15)
#   BACKUP_KEEP_DAYS / BACKUP_KEEP_MIN   retention (default 14 days, never fewer than 3 backups)
#   PYTHON                     Python 3.11 with the sharestack package and PyMySQL (default
#                              python3; deploy/backup/Dockerfile builds an image with both)
# or, compose style, hosts and passwords from which the URLs are built:
#   BACKUP_SOURCE_HOST (replica), BACKUP_PRIMARY_HOST, BACKUP_MYSQL_PORT (3306),
#   MYSQL_APP_DATABASE (sharestack), MYSQL_BACKUP_PASSWORD, MYSQL_REPLICATION_PASSWORD,
#   BACKUP_HOUR_UTC (HH, for BACKUP_AT), BACKUP_RETENTION_DAYS (for BACKUP_KEEP_DAYS)
#
# Without `schedule`, binlogs are copied up to now before each backup (when a binlog source is
# set), so a daily one-shot run still archives them; `schedule` streams them continuously.
# Exit status: that of the command; `schedule` exits only on SIGTERM/SIGINT.
set -euo pipefail

export BACKUP_DIR=${BACKUP_DIR:-/backups}
PYTHON=${PYTHON:-python3}
cli() { "$PYTHON" -m sharestack.ops.backup --dir "$BACKUP_DIR" "$@"; }
log() { printf '%s backup.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

if ! "$PYTHON" -c 'import sharestack.ops.backup, pymysql' 2>/dev/null; then
  log "$PYTHON cannot import sharestack.ops.backup and pymysql: run this in the image that" \
    "deploy/backup/Dockerfile builds, or set PYTHON to the backend's virtualenv python"
  exit 1
fi

urlquote() { "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# Compose-style settings: build the URLs from host names and passwords.
port=${BACKUP_MYSQL_PORT:-3306}
db=${MYSQL_APP_DATABASE:-sharestack}
if [[ -z ${BACKUP_SOURCE_URLS:-} && -n ${BACKUP_SOURCE_HOST:-}${BACKUP_PRIMARY_HOST:-} ]]; then
  pw=$(urlquote "${MYSQL_BACKUP_PASSWORD:?set MYSQL_BACKUP_PASSWORD}")
  urls=()
  for host in ${BACKUP_SOURCE_HOST:-} ${BACKUP_PRIMARY_HOST:-}; do
    urls+=("mysql://backup:$pw@$host:$port/$db")
  done
  BACKUP_SOURCE_URLS=$(IFS=,; echo "${urls[*]}")
fi
if [[ -z ${BACKUP_BINLOG_SOURCE_URL:-} && -n ${BACKUP_PRIMARY_HOST:-} && -n ${MYSQL_REPLICATION_PASSWORD:-} ]]; then
  BACKUP_BINLOG_SOURCE_URL="mysql://repl:$(urlquote "$MYSQL_REPLICATION_PASSWORD")@$BACKUP_PRIMARY_HOST:$port"
fi
[[ -n ${BACKUP_HOUR_UTC:-} && -z ${BACKUP_AT:-} ]] && BACKUP_AT="$BACKUP_HOUR_UTC:00"
[[ -n ${BACKUP_RETENTION_DAYS:-} && -z ${BACKUP_KEEP_DAYS:-} ]] && BACKUP_KEEP_DAYS=$BACKUP_RETENTION_DAYS
export BACKUP_SOURCE_URLS BACKUP_BINLOG_SOURCE_URL BACKUP_AT BACKUP_KEEP_DAYS

archiver="" sleeper=""

full_backup() {
  : "${BACKUP_SOURCE_URLS:?set BACKUP_SOURCE_URLS (replica first, then the primary)}"
  log "full backup starting"
  if [[ -z $archiver && -n ${BACKUP_BINLOG_SOURCE_URL:-} ]]; then
    # No continuous archiver in this mode: copy the binlogs written since the last run.
    cli archive-binlogs --once || log "binlog copy FAILED (point-in-time recovery has a gap)"
  fi
  cli backup
  cli prune
  log "full backup done"
}

# Seconds from now until the next HH:MM UTC.
seconds_until() {
  local now target
  now=$(date -u +%s)
  target=$(date -u -d "today $1" +%s)
  ((target > now)) || target=$(date -u -d "tomorrow $1" +%s)
  echo $((target - now))
}

stop() {
  log "stopping"
  for pid in $archiver $sleeper; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
  exit 0
}

schedule() {
  local at=${BACKUP_AT:-03:15} wait_s
  [[ $at =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || { log "BACKUP_AT must be HH:MM, not $at"; exit 1; }
  if [[ -n ${BACKUP_BINLOG_SOURCE_URL:-} ]]; then
    # Started directly (not through the cli function) so that $! is the archiver itself.
    "$PYTHON" -m sharestack.ops.backup --dir "$BACKUP_DIR" archive-binlogs &
    archiver=$!
    log "binlog archiver running (pid $archiver)"
  else
    log "BACKUP_BINLOG_SOURCE_URL unset: no binlog archiving, so no point-in-time recovery"
  fi
  trap stop TERM INT
  # A fresh deployment gets its first backup at once rather than up to a day later.
  [[ -n $(cli list) ]] || full_backup || log "first backup failed; retrying at $at"
  while true; do
    wait_s=$(seconds_until "$at")
    log "next full backup at $at UTC (in ${wait_s}s)"
    # sleep in the background so that SIGTERM is handled at once.
    sleep "$wait_s" &
    sleeper=$!
    wait "$sleeper"
    full_backup || log "full backup FAILED; the next attempt is tomorrow at $at"
  done
}

case ${1:-} in
  "") full_backup ;;
  schedule) schedule ;;
  -h | --help | help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) cli "$@" ;;
esac
