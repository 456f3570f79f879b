from django.urls import include, path

from troubleshooter import lab, views

urlpatterns = [
    path("", views.home, name="home"),
    path("troubleshoot/", views.troubleshoot, name="troubleshoot"),
    path("causes/", views.cause_list, name="cause-list"),
    path("causes/<slug:cause_id>/", views.cause_detail, name="cause-detail"),
    path("causes/<slug:cause_id>/feedback/", views.feedback, name="feedback"),
    path("guides/", views.framework_list, name="framework-list"),
    path("guides/<slug:framework_id>/", views.framework_detail, name="framework-detail"),
    path("platforms/", views.platforms, name="platforms"),
    path("search/", views.search, name="search"),
    path("healthz/", views.healthz, name="healthz"),
    path("runs/", include("troubleshooter.runs.urls")),
    path("lab/", lab.index, name="lab"),
    path("lab/sse/healthy/", lab.sse_healthy),
    path("lab/sse/clock/", lab.sse_clock),
    path("lab/sse/buffered/", lab.sse_buffered),
    path("lab/sse/idle-cut/", lab.sse_idle_cut),
    path("lab/sse/hard-cut/", lab.sse_hard_cut),
    path("lab/sse/serverless-cut/", lab.sse_serverless_cut),
    path("lab/sse/retried/", lab.sse_retried),
    path("lab/sse/object-reprs/", lab.sse_object_reprs),
    path("lab/sse/replicas/", lab.sse_replicas),
    path("lab/event-loop-closed/", lab.event_loop_closed),
    path("lab/sse/no-terminal/", lab.sse_no_terminal),
    path("lab/sse/gzip/", lab.sse_gzip),
    path("lab/content-length-mismatch/", lab.content_length_mismatch),
    path("lab/ndjson/", lab.ndjson),
    path("lab/openai/<slug:mode>/v1/chat/completions", lab.openai_chat),
    path("lab/anthropic/v1/messages", lab.anthropic_messages),
]

handler400 = "troubleshooter.views.bad_request"
handler404 = "troubleshooter.views.not_found"
handler500 = "troubleshooter.views.server_error"
