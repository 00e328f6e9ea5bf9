"""The background job queue (huey): SQLite in the instance folder, or Redis.

Tasks are bound to the app that created the queue, so a worker process needs
only `clinic worker`. A periodic sweep re-queues versions whose worker died.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)


def make_huey(app: Flask) -> Huey:
    """The queue for this app's configuration (immediate mode when JOBS_IMMEDIATE)."""
    immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    if app.config.get("REDIS_URL"):
        huey = RedisHuey(
            "clinic", url=app.config["REDIS_URL"], immediate=immediate, results=False
        )
    else:
        path = Path(
            app.config.get("QUEUE_PATH") or Path(app.instance_path) / "queue.sqlite"
        )
        if not immediate:
            path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(
            "clinic", filename=str(path), immediate=immediate, results=False
        )
    _register_tasks(app, huey)
    return huey


def _register_tasks(app: Flask, huey: Huey) -> None:
    @huey.task(name="analyse_version", retries=1, retry_delay=5)
    def analyse_version(version_id: int) -> None:
        from clinic.services.documents import run_analysis

        with app.app_context():
            status = run_analysis(version_id)
            log.info("version %s: %s", version_id, status)

    @huey.periodic_task(crontab(minute="*"), name="requeue_stale")
    def requeue_stale() -> None:
        with app.app_context():
            requeue_stale_versions()

    @huey.task(name="send_notification", retries=3, retry_delay=300)
    def send_notification(notification_id: int) -> None:
        from clinic.services.notifications import deliver

        with app.app_context():
            deliver(notification_id)  # MailError: huey retries it later

    @huey.periodic_task(crontab(hour="6", minute="0"), name="notify_overdue")
    def notify_overdue() -> None:
        from clinic.services.notifications import notify_overdue

        with app.app_context():
            log.info("overdue action items notified: %s", len(notify_overdue()))

    @huey.periodic_task(crontab(hour="7", minute="0"), name="send_digests")
    def send_digests() -> None:
        from clinic.services.notifications import send_digests

        with app.app_context():
            log.info("digests sent: %s", send_digests())

    app.extensions["huey_tasks"] = {
        "analyse_version": analyse_version,
        "requeue_stale": requeue_stale,
        "send_notification": send_notification,
        "notify_overdue": notify_overdue,
        "send_digests": send_digests,
    }


def init_app(app: Flask) -> None:
    app.extensions["huey"] = make_huey(app)


def enqueue_analysis(version_id: int) -> None:
    """Queue the analysis of a version (runs at once in immediate mode)."""
    current_app.extensions["huey_tasks"]["analyse_version"](version_id)


def enqueue_notification(notification_id: int) -> None:
    """Queue the mail of a notification (runs at once in immediate mode)."""
    current_app.extensions["huey_tasks"]["send_notification"](notification_id)


def requeue_stale_versions() -> list[int]:
    """Queue again every version a dead worker left unfinished; returns their ids."""
    from clinic.services.documents import stale_versions

    ids = stale_versions()
    for version_id in ids:
        log.warning("re-queueing version %s, left unfinished", version_id)
        enqueue_analysis(version_id)
    return ids


def run_worker(app: Flask, workers: int = 1) -> None:
    """Run a consumer in this process until interrupted (`clinic worker`)."""
    huey: Huey = app.extensions["huey"]
    with app.app_context():
        requeue_stale_versions()
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True
    )
    consumer.run()
