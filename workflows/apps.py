from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Process engine"

    def ready(self) -> None:
        # Registers `notify.send`, the service task that sends notifications.
        from workflows import embedded, notifications  # noqa: F401

        if embedded.should_sweep():
            embedded.start()
