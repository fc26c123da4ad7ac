"""WSGI entry point (gunicorn classpass.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classpass.settings")
application = get_wsgi_application()
