from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from web.views import cockpit, dashboards, feedback, home, modeler, processes, tasks

app_name = "web"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("tasks/", tasks.task_list, name="tasks"),
    path("tasks/<int:task_id>/", tasks.task_detail, name="task"),
    path("processes/", processes.process_list, name="processes"),
    path("processes/<str:key>/start/", processes.process_start, name="process-start"),
    path("instances/", processes.instance_list, name="instances"),
    path("feedback/", feedback.feedback, name="feedback"),
    path("instances/<int:instance_id>/", cockpit.instance_cockpit, name="cockpit"),
    path("modeler/", modeler.modeler_list, name="modeler-list"),
    path("modeler/reviews/", modeler.deploy_reviews, name="deploy-reviews"),
    path("modeler/<str:key>/", modeler.modeler, name="modeler"),
    path("dashboards/", dashboards.dashboards, name="dashboards"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["web"]), name="javascript-catalog"),
]
