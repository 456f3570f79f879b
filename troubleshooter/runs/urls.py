from django.urls import path

from . import views

urlpatterns = [
    path("", views.history, name="run-history"),
    path("new/", views.new_run, name="run-new"),
    path("import/", views.import_run, name="run-import"),
    path("measure-in-browser/", views.measure_in_browser, name="run-measure-in-browser"),
    path("import/troubleshooter-probe.pyz", views.standalone_probe, name="standalone-probe"),
    path("header-row/", views.header_row, name="run-header-row"),
    path("<uuid:run_id>/", views.run_detail, name="run-detail"),
    path("<uuid:run_id>/json/", views.run_json, name="run-json"),
    path("<uuid:run_id>/cancel/", views.cancel_run, name="run-cancel"),
    path("<uuid:run_id>/again/", views.run_again, name="run-again"),
    path("<uuid:run_id>/share/", views.share_run, name="run-share"),
    path("shared/<str:token>/", views.shared_run_detail, name="run-shared"),
    path("shared/<str:token>/json/", views.shared_run_json, name="run-shared-json"),
]
