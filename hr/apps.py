from django.apps import AppConfig


class HrConfig(AppConfig):
    name = "hr"
    verbose_name = "Healthcare group HR"

    def ready(self) -> None:
        # Registers the operations BPMN service tasks may call.
        from hr import checks, operations  # noqa: F401
