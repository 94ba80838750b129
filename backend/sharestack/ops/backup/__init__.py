"""Logical backups with GTID positions, binary-log archiving and point-in-time restores.

Run as ``python -m sharestack.ops.backup`` (deploy/backup/backup.sh is the scheduled entry point).
The layout of a backup directory::

    <BACKUP_DIR>/full/<UTC stamp>/dump.sql.gz      gzip of the dump (mariadb-dump / mysqldump)
    <BACKUP_DIR>/full/<UTC stamp>/manifest.json    GTID position, per-table rows and checksums,
                                                   sha256 and sizes of the archive
    <BACKUP_DIR>/binlog/mysql-bin.NNNNNN           raw binary logs streamed from the primary

A backup directory without manifest.json is incomplete and is never used.
"""
