"""``python -m bench.media``: upload throughput and the variants job's time for 12-megapixel
JPEGs (``make bench-media``).

Runs the API in-process on its embedded stack (SQLite, in-process Redis, local storage in a
temporary directory), so the figures are the API's own work, without nginx or the network:
each upload is decoded, checked and re-encoded by Pillow and stored; the variants job (320, 960
and 1920 px WebP) then runs as the worker would run it. Photo-like images (noise compresses
like a real photo) of 4000 × 3000 pixels, each one different so none is deduplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from sharestack.config import Settings
from sharestack.db.migrate import migrate
from sharestack.dependencies import app_state
from sharestack.jobs import registry
from sharestack.main import create_app

WIDTH, HEIGHT = 4000, 3000


def photo(seed: int) -> bytes:
    noise = Image.effect_noise((WIDTH // 4, HEIGHT // 4), 30 + seed % 20).convert("RGB")
    image = noise.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)  # photo-like gradients
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def run(count: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ss_bench_media_") as tmp:
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp),
            log_level="WARNING",
            rate_limit_enabled=False,
            media_max_upload_bytes=30 * 1024 * 1024,
        )
        await migrate(settings)
        files = [photo(i) for i in range(count)]
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            state = app_state(app)
            # The job is timed on its own below: the embedded relay must not run it meanwhile.
            await state.jobs.relay.stop()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                creds = {"email": "bench@example.com", "password": "bench-password-not-secret"}
                await http.post("/api/v1/auth/register", json=creds)
                token = (await http.post("/api/v1/auth/login", json=creds)).json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                gate = asyncio.Semaphore(concurrency)
                latencies: list[float] = []
                ids: list[int] = []

                async def one(data: bytes) -> None:
                    async with gate:
                        started = time.perf_counter()
                        r = await http.post(
                            "/api/v1/media",
                            files={"file": ("p.jpg", data, "image/jpeg")},
                            headers=auth,
                        )
                        latencies.append(time.perf_counter() - started)
                        assert r.status_code == 201, r.text
                        ids.append(r.json()["id"])

                wall = time.perf_counter()
                await asyncio.gather(*(one(d) for d in files))
                wall = time.perf_counter() - wall
            jobs: list[float] = []
            for media_id in ids:
                started = time.perf_counter()
                await registry.call(state, "make_media_variants", {"media_id": media_id})
                jobs.append(time.perf_counter() - started)
    megabytes = sum(len(d) for d in files) / 1e6
    return {
        "uploads": count,
        "file_mb_mean": megabytes / count,
        "uploads_per_s": count / wall,
        "mb_per_s": megabytes / wall,
        "upload_p50_s": statistics.median(latencies),
        "upload_max_s": max(latencies),
        "variants_job_p50_s": statistics.median(jobs),
        "variants_job_max_s": max(jobs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.media")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.count, args.concurrency))
    print(f"12 MP JPEG ({WIDTH} x {HEIGHT}), {args.concurrency} uploads at a time")
    for name, value in figures.items():
        print(f"  {name:22} {value:10.3f}")


if __name__ == "__main__":
    main()
