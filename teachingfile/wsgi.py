"""WSGI entry point (gunicorn teachingfile.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teachingfile.settings")
application = get_wsgi_application()

from teachingfile.checks import exit_if_misconfigured  # noqa: E402 - needs settings loaded

exit_if_misconfigured()
