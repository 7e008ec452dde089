"""WSGI entry point for any WSGI server behind a load balancer."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "birtutas.settings")
application = get_wsgi_application()
