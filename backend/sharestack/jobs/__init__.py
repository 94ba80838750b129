"""Background jobs: a transactional outbox in the database, SAQ queues in Redis, the worker.

Life of a job: a service calls ``outbox.enqueue(session, "name", **kwargs)`` inside the request's
transaction, which adds one ``job_outbox`` row and nothing else. A rollback leaves no row, so
nothing runs. After the commit the relay (in the API process, woken by the commit; and on a
schedule in the worker, for rows an API process left behind when it died) hands each row to the
queue with the key ``outbox:<id>`` and marks it sent. SAQ refuses a second job with a key that is
still queued or running, so a relay that crashes between the hand-over and its mark enqueues the
job once. A job that finished and is then handed over again would run twice, so every job is
idempotent. Without Redis (the embedded default) the same relay runs jobs inside the API process.
"""
