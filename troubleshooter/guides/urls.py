from django.urls import path

from . import views

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
]
