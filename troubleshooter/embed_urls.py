"""The /embed/ pages: the only pages of the site that other sites may frame."""

from django.urls import path

from troubleshooter.guides import embed as guides
from troubleshooter.runs import embed as runs

urlpatterns = [
    path("troubleshoot/", guides.tree, name="embed-tree"),
    path("causes/<slug:cause_id>/", guides.cause, name="embed-cause"),
    path("guides/<slug:framework_id>/", guides.framework, name="embed-framework"),
    path("platforms/", guides.platforms, name="embed-platforms"),
    path("runs/<uuid:run_id>/", runs.verdict, name="embed-run"),
    path("runs/shared/<str:token>/", runs.shared_verdict, name="embed-run-shared"),
    path("style-<str:theme>.css", guides.stylesheet, name="embed-stylesheet"),
]
