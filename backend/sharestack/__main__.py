"""ShareStack command line: ``python -m sharestack serve|migrate``."""

from __future__ import annotations

import argparse
import asyncio
import time

from sharestack.config import Settings, get_settings


def _migrate_or_exit(settings: Settings, revision: str, downgrade: bool) -> None:
    """Migrate; a set-up problem (e.g. the database cannot be created) ends the command with a
    message saying what to do, not a traceback."""
    from sharestack.db.migrate import DatabaseSetupError, migrate

    try:
        asyncio.run(migrate(settings, revision, downgrade=downgrade))
    except DatabaseSetupError as exc:
        raise SystemExit(f"sharestack: {exc}") from None


async def _warm_cache(settings: Settings, limit: int | None) -> tuple[int, float]:
    from sharestack.content.cached import warm_items
    from sharestack.resources import Resources

    started = time.monotonic()
    resources = await Resources.open(settings)
    try:
        stored = await warm_items(resources.cache, resources.db.routing, limit=limit)
    finally:
        await resources.close()
    return stored, time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sharestack")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve.add_argument("--no-migrate", action="store_true", help="skip applying migrations")

    commands.add_parser("worker", help="run the job worker (SAQ on the queue Redis)")

    warm = commands.add_parser(
        "warm-cache", help="fill the cache with published items (after a deploy or a flush)"
    )
    warm.add_argument("--limit", type=int, default=None, help="at most this many items")

    migrate = commands.add_parser("migrate", help="apply migrations (or go back to a revision)")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", action="store_true")

    args = parser.parse_args(argv)
    settings = get_settings()

    from sharestack.logging import configure_logging

    configure_logging(settings.log_level)
    if args.command == "migrate":
        _migrate_or_exit(settings, args.revision, args.downgrade)
        return

    if args.command == "warm-cache":
        stored, seconds = asyncio.run(_warm_cache(settings, args.limit))
        print(f"warm-cache: {stored} items cached in {seconds:.1f} s")
        return

    if args.command == "worker":
        from sharestack.worker import run_worker

        asyncio.run(run_worker(settings))
        return

    if not args.no_migrate:
        _migrate_or_exit(settings, "head", False)
    import uvicorn

    uvicorn.run(
        "sharestack.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        reload=args.reload,
        # Each process imports the app, opens its pools and freezes its start-up objects for
        # the GC once (the lifespan in sharestack.main); the parent only supervises.
        workers=1 if args.reload else settings.web_concurrency,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        log_config=None,
        server_header=False,
    )


if __name__ == "__main__":
    main()
