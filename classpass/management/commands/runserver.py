"""runserver, with the periodic tasks of CELERY_BEAT_SCHEDULE when tasks run eagerly.

In development (CELERY_TASK_ALWAYS_EAGER, as `make run` serves) there is no worker and no beat
process: a task runs in the process that sends it. Without a beat, the dev server never does
its periodic work: a held à-la-carte spot is never released, Spotlight impressions never reach
the dashboard, cycles never renew. Here Celery's own beat service runs in a thread of the
serving process (celery.beat.EmbeddedService) with the in-memory scheduler, and each task falls
due there and runs in that thread, eagerly, as every task does in development. `--nobeat`
serves without it; with tasks not eager (production settings) nothing changes: run
`celery beat` and a worker as the README says.
"""

import logging

from celery.beat import EmbeddedService, Scheduler
from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunServer

from classpass.celery import app


class EagerScheduler(Scheduler):
    """Beat's in-memory scheduler, for a process whose tasks run eagerly: a due task runs in
    the scheduler's thread, so there is no broker to connect to (Scheduler.producer would)."""

    producer = None


def start_beat():
    """Start the periodic tasks in a daemon thread of this process; returns it (.stop())."""
    # Import every app's tasks first: beat sends a task it does not know to the broker.
    app.loader.import_default_modules()
    beat = EmbeddedService(app, thread=True, scheduler_cls=EagerScheduler)
    beat.start()
    return beat


class Command(RunServer):
    help = RunServer.help + " Runs the periodic tasks too when tasks run eagerly."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--nobeat",
            action="store_false",
            dest="use_beat",
            help="Do not run the periodic tasks (CELERY_BEAT_SCHEDULE) in the server.",
        )

    def inner_run(self, *args, **options):
        # inner_run is the serving process (the autoreloader's child): one beat per server.
        if options["use_beat"] and settings.CELERY_TASK_ALWAYS_EAGER:
            # Not a line per task sent (the outbox relay's is due every 10 s); errors still show.
            logging.getLogger("celery.beat").setLevel(logging.WARNING)
            start_beat()
            self.stdout.write(
                f"Periodic tasks run in this server ({len(settings.CELERY_BEAT_SCHEDULE)} "
                "in CELERY_BEAT_SCHEDULE; --nobeat to leave them out)."
            )
        super().inner_run(*args, **options)
