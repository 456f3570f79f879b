from django.urls import include, path

from troubleshooter import views

urlpatterns = [
    path("", include("troubleshooter.guides.urls")),
    path("runs/", include("troubleshooter.runs.urls")),
    path("lab/", include("troubleshooter.lab.urls")),
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("metrics/", views.prometheus_metrics, name="metrics"),
]

handler400 = "troubleshooter.views.bad_request"
handler404 = "troubleshooter.views.not_found"
handler500 = "troubleshooter.views.server_error"
