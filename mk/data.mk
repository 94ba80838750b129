# Data tier: replicas, read/write splitting, backups and point-in-time recovery (issue 3).
.PHONY: test-data backup-drill check-data check-data-image

DATA_SHELL := deploy/backup/backup.sh deploy/mysql/init/10-users.sh deploy/mysql/init/20-replication.sh

test-data: install ## data tier: unit tests plus replica routing and PITR drills on throwaway MariaDB
	$(PYTEST) tests/unit/db tests/unit/ops tests/system/test_read_replicas.py \
		tests/system/test_backup_pitr.py -q

backup-drill: install ## the backup + point-in-time restore drill alone, printing its timings
	$(PYTEST) tests/system/test_backup_pitr.py -q -s

check-data: ## lint the backup entry point and the MySQL init scripts (bash -n, shellcheck)
	@for f in $(DATA_SHELL); do bash -n $$f || exit 1; done
	shellcheck $(DATA_SHELL)

CI_CHECKS += check-data

check-data-image: install ## hadolint on the backup service's Dockerfile
	cd $(BACKEND) && $(VENV)/bin/hadolint --no-color ../deploy/backup/Dockerfile

CI_CHECKS += check-data-image
