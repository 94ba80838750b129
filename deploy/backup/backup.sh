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
#   PYTHON                     interpreter with the sharestack package (default python3)
#
# Exit status: that of the command; `schedule` exits only on SIGTERM/SIGINT.
set -euo pipefail

export BACKUP_DIR=${BACKUP_DIR:-/backups}
PYTHON=${PYTHON:-python3}
cli() { "$PYTHON" -m sharestack.ops.backup --dir "$BACKUP_DIR" "$@"; }
log() { printf '%s backup.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

full_backup() {
  : "${BACKUP_SOURCE_URLS:?set BACKUP_SOURCE_URLS (replica first, then the primary)}"
  log "full backup starting"
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

archiver="" sleeper=""
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
