import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "troubleshooter.settings")

# Django is set up before anything that imports models is loaded.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from troubleshooter.guides.content import load_cached  # noqa: E402
from troubleshooter.lab.consumers import LabStreamConsumer  # noqa: E402
from troubleshooter.runs.consumers import RunConsumer  # noqa: E402
from troubleshooter.websocket_origin import SameSiteOriginValidator  # noqa: E402

# Reading and highlighting the guides takes about a second: do it when the worker starts,
# not in the first visitor's request.
load_cached()

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # The session tells a run's socket who is watching.
        "websocket": AuthMiddlewareStack(
            URLRouter(
                [
                    path("lab/ws/", LabStreamConsumer.as_asgi()),
                    # A run page's socket only answers pages of this site (no cross-site listening).
                    path("runs/<uuid:run_id>/ws/", SameSiteOriginValidator(RunConsumer.as_asgi())),
                ]
            )
        ),
    }
)
