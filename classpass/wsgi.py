"""WSGI entry point: granian --interface wsgi classpass.wsgi:application (README)."""

import gc
import os

from django.apps import apps
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from classpass.celery import app as celery_app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classpass.settings")
application = get_wsgi_application()

# Load what the first requests would otherwise load under load: the URLconf with every view,
# serializer and form it imports, and the Celery tasks. Without this each new worker's first
# requests queued behind the import lock for hundreds of milliseconds (docs/performance.md).
get_resolver().url_patterns  # noqa: B018
celery_app.loader.autodiscover_tasks([config.name for config in apps.get_app_configs()])
# And what the first task sent would build: the task registry, the message sender and the
# producer pool with its transport (no connection is opened here). Sampled under load, a new
# worker's first outbox kick spent over a hundred milliseconds building them.
celery_app.finalize(auto=True)
celery_app.amqp.send_task_message  # noqa: B018
celery_app.producer_pool  # noqa: B018
# Everything loaded so far lives as long as the process: move it out of the cyclic garbage
# collector's generations, so that its full collections no longer walk it during requests.
gc.freeze()
