from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from troubleshooter import views
from troubleshooter.api import api
from troubleshooter.guides import embed
from troubleshooter.runs import token_views

urlpatterns = [
    path("", include("troubleshooter.guides.urls")),
    path("runs/", include("troubleshooter.runs.urls")),
    path("lab/", include("troubleshooter.lab.urls")),
    path("embed/", include("troubleshooter.embed_urls")),
    path("oembed", embed.oembed, name="oembed"),
    path("api/v1/", api.urls),
    path("accounts/login/", auth_views.LoginView.as_view(extra_context={"oidc": settings.OIDC_ENABLED}), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", token_views.api_tokens, name="api-tokens"),
    path("accounts/tokens/<str:key_id>/revoke/", token_views.revoke_api_token, name="api-token-revoke"),
    # Staff manage users and teams (groups) here.
    path("admin/", admin.site.urls),
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("metrics/", views.prometheus_metrics, name="metrics"),
]
if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "troubleshooter.views.bad_request"
handler404 = "troubleshooter.views.not_found"
handler500 = "troubleshooter.views.server_error"
