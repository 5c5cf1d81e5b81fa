from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import (
    audit,
    auth,
    deployments,
    employees,
    instances,
    me,
    notifications,
    processes,
    tasks,
)
from api.views import benefits as benefit_views
from api.views import documents as document_views
from api.views import family as family_views
from api.views import feedback as feedback_views
from api.views import licences as licence_views
from api.views import metrics as metrics_views
from api.views import performance as performance_views
from api.views import signals as signal_views
from api.views import stories as story_views

app_name = "api"

urlpatterns = [
    path("auth/token", auth.TokenApi.as_view(), name="auth-token"),
    path("auth/logout", auth.LogoutApi.as_view(), name="auth-logout"),
    path("auth/logout-all", auth.LogoutAllApi.as_view(), name="auth-logout-all"),
    path("me", me.MeApi.as_view(), name="me"),
    # process owners
    path("definitions", processes.DefinitionListApi.as_view(), name="definitions"),
    path("definitions/<str:key>/versions", processes.VersionListApi.as_view(), name="versions"),
    path("definitions/<str:key>/start-form", processes.StartFormApi.as_view(), name="start-form"),
    path("deployments", processes.DeploymentApi.as_view(), name="deployments"),
    path(
        "deployments/<int:version_id>",
        deployments.DeploymentDetailApi.as_view(),
        name="deployment",
    ),
    path(
        "deployments/<int:version_id>/diff",
        deployments.DeploymentDiffApi.as_view(),
        name="deployment-diff",
    ),
    path(
        "deployments/<int:version_id>/approve",
        deployments.DeploymentApproveApi.as_view(),
        name="deployment-approve",
    ),
    path(
        "deployments/<int:version_id>/reject",
        deployments.DeploymentRejectApi.as_view(),
        name="deployment-reject",
    ),
    path(
        "versions/<int:version_id>/files/<str:name>",
        processes.VersionFileApi.as_view(),
        name="version-file",
    ),
    # employees and managers
    path("tasks", tasks.InboxApi.as_view(), name="inbox"),
    path("tasks/<int:task_id>", tasks.TaskDetailApi.as_view(), name="task"),
    path("tasks/<int:task_id>/claim", tasks.TaskClaimApi.as_view(), name="task-claim"),
    path("tasks/<int:task_id>/unclaim", tasks.TaskUnclaimApi.as_view(), name="task-unclaim"),
    path("tasks/<int:task_id>/delegate", tasks.TaskDelegateApi.as_view(), name="task-delegate"),
    path("tasks/<int:task_id>/delegates", tasks.TaskDelegatesApi.as_view(), name="task-delegates"),
    path("tasks/<int:task_id>/complete", tasks.TaskCompleteApi.as_view(), name="task-complete"),
    path("instances", instances.InstanceListApi.as_view(), name="instances"),
    path("instances/start", instances.InstanceStartApi.as_view(), name="instance-start"),
    path("instances/<int:instance_id>", instances.InstanceDetailApi.as_view(), name="instance"),
    # auditors
    path("instances/<int:instance_id>/history", audit.HistoryApi.as_view(), name="history"),
    path(
        "instances/<int:instance_id>/history/verify",
        audit.HistoryVerifyApi.as_view(),
        name="history-verify",
    ),
    path(
        "instances/<int:instance_id>/history/export.csv",
        audit.HistoryExportCsvApi.as_view(),
        name="history-csv",
    ),
    path(
        "instances/<int:instance_id>/history/export.json",
        audit.HistoryExportJsonApi.as_view(),
        name="history-json",
    ),
    # operators
    path(
        "instances/<int:instance_id>/suspend",
        instances.InstanceSuspendApi.as_view(),
        name="instance-suspend",
    ),
    path(
        "instances/<int:instance_id>/resume",
        instances.InstanceResumeApi.as_view(),
        name="instance-resume",
    ),
    path(
        "instances/<int:instance_id>/terminate",
        instances.InstanceTerminateApi.as_view(),
        name="instance-terminate",
    ),
    path(
        "instances/<int:instance_id>/migrate",
        instances.InstanceMigrateApi.as_view(),
        name="instance-migrate",
    ),
    path("incidents", instances.IncidentListApi.as_view(), name="incidents"),
    path(
        "incidents/<int:incident_id>/retry",
        instances.IncidentRetryApi.as_view(),
        name="incident-retry",
    ),
    path("messages", instances.MessageApi.as_view(), name="messages"),
    # everyone: in-app notifications
    path("notifications", notifications.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/read-all",
        notifications.NotificationReadAllApi.as_view(),
        name="notifications-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read",
        notifications.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    # the contract
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # --- benefit claims and feedback closure (福利申请, 心声直达) ---
    path("benefits", benefit_views.BenefitListApi.as_view(), name="benefits"),
    path("feedback", feedback_views.FeedbackSubmitApi.as_view(), name="feedback-submit"),
    # The receipt code goes in the body, never in the URL (access logs keep URLs).
    path("feedback/receipt", feedback_views.FeedbackReceiptApi.as_view(), name="feedback-receipt"),
    path("feedback/reply", feedback_views.FeedbackReplyApi.as_view(), name="feedback-reply"),
    path(
        "feedback/<str:receipt_code>",
        feedback_views.FeedbackReceiptInPathApi.as_view(),
        name="feedback-receipt-in-path",
    ),
    # --- end benefit claims and feedback closure ---
    # --- performance appraisal (monthly scores, closing a month) ---
    path("appraisals", performance_views.AppraisalCreateApi.as_view(), name="appraisals"),
    path(
        "appraisals/close-month",
        performance_views.AppraisalMonthCloseApi.as_view(),
        name="appraisals-close-month",
    ),
    # --- end performance appraisal ---
    # --- HR metrics behind the dashboards (fixed contract: docs/metrics.md) ---
    path("metrics/turnover/", metrics_views.TurnoverMetricsApi.as_view(), name="metrics-turnover"),
    path("metrics/training/", metrics_views.TrainingMetricsApi.as_view(), name="metrics-training"),
    path("metrics/feedback/", metrics_views.FeedbackMetricsApi.as_view(), name="metrics-feedback"),
    path(
        "metrics/cycle-time/",
        metrics_views.CycleTimeMetricsApi.as_view(),
        name="metrics-cycle-time",
    ),
    path(
        "metrics/open-tasks/",
        metrics_views.OpenTasksMetricsApi.as_view(),
        name="metrics-open-tasks",
    ),
    # --- end HR metrics ---
    # --- family care and story wall (家庭关怀, 员工故事墙) ---
    path("family/care-gifts", family_views.CareGiftStartApi.as_view(), name="care-gifts"),
    path("stories/", story_views.StoryListApi.as_view(), name="stories"),
    path("stories/<int:story_id>/", story_views.StoryDetailApi.as_view(), name="story"),
    path("stories/<int:story_id>/likes/", story_views.StoryLikeApi.as_view(), name="story-likes"),
    path(
        "stories/<int:story_id>/comments/",
        story_views.StoryCommentsApi.as_view(),
        name="story-comments",
    ),
    path(
        "stories/<int:story_id>/photos/<int:photo_id>/",
        story_views.StoryPhotoApi.as_view(),
        name="story-photo",
    ),
    # --- end family care and story wall ---
    # --- employee records (private fields by role) and who read them ---
    path("employees/", employees.EmployeeListApi.as_view(), name="employees"),
    path("employees/<int:employee_id>/", employees.EmployeeDetailApi.as_view(), name="employee"),
    path("audit/access-log/", employees.AccessLogApi.as_view(), name="access-log"),
    # --- end employee records ---
    # --- documents (form file fields), licence renewal, compliance signals ---
    path("documents/", document_views.DocumentUploadApi.as_view(), name="documents"),
    path(
        "documents/<uuid:document_id>/",
        document_views.DocumentDownloadApi.as_view(),
        name="document",
    ),
    path("licences/", licence_views.LicenceListApi.as_view(), name="licences"),
    path("signals/", signal_views.SignalApi.as_view(), name="signals"),
    # --- end documents, licence renewal, compliance signals ---
]
