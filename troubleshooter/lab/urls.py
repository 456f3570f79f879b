from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="lab"),
    path("sse/healthy/", views.sse_healthy),
    path("sse/clock/", views.sse_clock),
    path("sse/buffered/", views.sse_buffered),
    path("sse/one-piece/", views.sse_one_piece),
    path("sse/idle-cut/", views.sse_idle_cut),
    path("sse/hard-cut/", views.sse_hard_cut),
    path("sse/serverless-cut/", views.sse_serverless_cut),
    path("sse/worker-timeout/", views.sse_worker_timeout),
    path("sse/retried/", views.sse_retried),
    path("sse/object-reprs/", views.sse_object_reprs),
    path("sse/replicas/", views.sse_replicas),
    path("event-loop-closed/", views.event_loop_closed),
    path("sse/no-terminal/", views.sse_no_terminal),
    path("sse/odd-bytes/", views.sse_odd_bytes),
    path("sse/gzip/", views.sse_gzip),
    path("content-length-mismatch/", views.content_length_mismatch),
    path("ndjson/", views.ndjson),
    path("openai/generations/", views.openai_generations),
    path("openai/<slug:mode>/v1/chat/completions", views.openai_chat),
    path("openai/<slug:mode>/<str:settings_segment>/v1/chat/completions", views.openai_chat),
    path("openai/<slug:mode>/v1/embeddings", views.openai_embeddings),
    path("openai/<slug:mode>/<str:settings_segment>/v1/embeddings", views.openai_embeddings),
    path("service/<str:settings_segment>/", views.service),
    path("service/<str:settings_segment>/<path:rest>", views.service),
    path("anthropic/v1/messages", views.anthropic_messages),
]
