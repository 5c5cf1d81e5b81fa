"""Words the pages show for codes the engine stores (event kinds)."""

from django.utils.translation import gettext_lazy as _

EVENT_KINDS = {
    "instance_started": _("Process started"),
    "instance_completed": _("Process completed"),
    "instance_terminated": _("Process terminated"),
    "instance_suspended": _("Process suspended"),
    "instance_resumed": _("Process resumed"),
    "task_created": _("Task created"),
    "task_claimed": _("Task claimed"),
    "task_unclaimed": _("Task released"),
    "task_delegated": _("Task delegated"),
    "task_completed": _("Task completed"),
    "task_cancelled": _("Task cancelled"),
    "timer_fired": _("Timer fired"),
    "service_retry_scheduled": _("Service task retry scheduled"),
    "message_correlated": _("Message received"),
    "incident_opened": _("Incident opened"),
    "incident_resolved": _("Incident resolved"),
    "version_migrated": _("Moved to another version"),
}

# BPMN element types (SpiffWorkflow's task spec classes) as the deploy diff shows them.
ELEMENT_TYPES = {
    "StartEvent": _("Start event"),
    "EndEvent": _("End event"),
    "IntermediateCatchEvent": _("Intermediate catch event"),
    "IntermediateThrowEvent": _("Intermediate throw event"),
    "BoundaryEvent": _("Boundary event"),
    "SendTask": _("Send task"),
    "ReceiveTask": _("Receive task"),
    "UserTask": _("User task"),
    "ManualTask": _("Manual task"),
    "ScriptTask": _("Script task"),
    "ServiceTask": _("Service task"),
    "BusinessRuleTask": _("Business rule task"),
    "CallActivity": _("Call activity"),
    "SubWorkflowTask": _("Subprocess"),
    "TransactionSubprocess": _("Transaction subprocess"),
    "ExclusiveGateway": _("Exclusive gateway"),
    "InclusiveGateway": _("Inclusive gateway"),
    "ParallelGateway": _("Parallel gateway"),
    "EventBasedGateway": _("Event-based gateway"),
    "NoneTask": _("Task"),
    "ParallelMultiInstanceTask": _("Parallel multi-instance task"),
    "SequentialMultiInstanceTask": _("Sequential multi-instance task"),
}

# What changed in an element of the deploy diff (workflows/diffs.py _COMPARED).
ELEMENT_FIELDS = {
    "type": _("type"),
    "name": _("name"),
    "process": _("process"),
    "lane": _("lane"),
    "operation": _("service operation"),
    "parameters": _("parameters"),
    "decision": _("decision table"),
    "called_process": _("called process"),
    "messages": _("messages"),
    "properties": _("properties"),
    "scripts": _("scripts"),
    "incoming": _("incoming flows"),
    "outgoing": _("outgoing flows"),
}
