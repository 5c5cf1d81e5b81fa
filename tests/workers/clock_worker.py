"""A real `celery worker` process whose clock starts at CAREFLOW_TEST_CLOCK (tests only).

The worker tests start it with `python -m tests.workers.clock_worker`, pointing
DATABASE_URL at the test database and CELERY_BROKER_URL at the test broker, and kill it
when they need a worker to die mid-step. The clock ticks from the given instant, so BPMN
durations of days pass without anyone sleeping for them.
"""

import datetime as dt
import os


def main() -> None:
    start = os.environ.get("CAREFLOW_TEST_CLOCK")
    if start:
        import time_machine

        time_machine.travel(dt.datetime.fromisoformat(start), tick=True).start()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import tests.workers.operations  # noqa: F401 - the test.* operations the diagrams call
    from config.celery import app

    name = os.environ.get("CAREFLOW_TEST_WORKER", "clock")
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            f"--hostname={name}@%h",
        ]
    )


if __name__ == "__main__":
    main()
