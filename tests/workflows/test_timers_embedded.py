"""Laptop mode: without a broker, the development server's own thread sweeps timers."""

import datetime as dt
import threading

import pytest

from tests.conftest import bundle_files
from workflows import embedded, services
from workflows.models import Timer

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("argv", "environ", "serves"),
    [
        (["manage.py", "runserver", "127.0.0.1:8000"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver", "--noreload"], {}, True),
        # The autoreloader's parent only watches files; its child serves.
        (["manage.py", "runserver", "127.0.0.1:8000"], {}, False),
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["pytest", "-q"], {}, False),
        (["gunicorn", "config.wsgi:application"], {}, False),
    ],
)
def test_only_the_process_serving_runserver_sweeps(argv, environ, serves):
    assert embedded.is_serving_process(argv, environ) is serves


def test_a_broker_means_celery_beat_sweeps_not_the_server(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"

    assert embedded.should_sweep(["manage.py", "runserver", "--noreload"], {}) is False


def test_it_can_be_switched_off(settings):
    settings.CELERY_BROKER_URL = ""
    settings.CAREFLOW = {**settings.CAREFLOW, "EMBEDDED_SWEEP": False}

    assert embedded.should_sweep(["manage.py", "runserver", "--noreload"], {}) is False


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_thread_fires_due_timers(org, time_machine):
    time_machine.move_to(START, tick=True)
    services.version_deploy(files=bundle_files("reminder_timer"))
    training = services.instance_start(
        process_key="reminder_timer", started_by=org.head_nurse.user, subject=org.nurse
    )
    time_machine.move_to(START + dt.timedelta(days=3, seconds=1), tick=True)
    stop = threading.Event()

    def one_round():
        embedded.sweep_once()
        stop.set()

    thread = embedded.start(period=0.01, stop=stop, sweep=one_round)
    thread.join(timeout=20)

    reminder = Timer.objects.get(instance=training, element_id="remind_after_3_days")
    assert reminder.status == Timer.Status.FIRED
    assert thread.is_alive() is False
    assert list(training.tasks.values_list("element_id", flat=True)) == [
        "complete_training",
        "chase_training",
    ]
