"""What changes between two versions of a process: the diff a second person reads before a
deploy becomes current (four-eyes deploy), and the reasons such a review is needed.

Works on the plain outlines `engine.bundle_outline` makes of a parsed bundle, so it needs no
SpiffWorkflow and can compare a version with nothing (the first version of a process).
"""

from typing import Any

from workflows import registry

EMPTY_OUTLINE: dict[str, Any] = {"elements": {}, "lanes": [], "operations": {}, "messages": {}}

# The element fields a reviewer is shown side by side when they differ.
_COMPARED = (
    "type",
    "name",
    "process",
    "lane",
    "operation",
    "parameters",
    "decision",
    "called_process",
    "messages",
    "properties",
    "scripts",
    "incoming",
    "outgoing",
)


def _element_row(element_id: str, described: dict[str, Any]) -> dict[str, Any]:
    operation = described.get("operation") or ""
    return {
        "id": element_id,
        "type": described.get("type", ""),
        "name": described.get("name", ""),
        "lane": described.get("lane", ""),
        "operation": operation,
        "is_high_impact": bool(operation) and registry.is_high_impact(operation),
    }


def outline_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Added, removed and changed elements, lanes, operations and messages from `old` (None:
    nothing deployed yet) to `new`; anything calling a high-impact operation is flagged."""
    old = old or EMPTY_OUTLINE
    old_elements, new_elements = old["elements"], new["elements"]
    added = [
        _element_row(k, new_elements[k]) for k in sorted(set(new_elements) - set(old_elements))
    ]
    removed = [
        _element_row(k, old_elements[k]) for k in sorted(set(old_elements) - set(new_elements))
    ]
    changed = []
    for key in sorted(set(old_elements) & set(new_elements)):
        before, after = old_elements[key], new_elements[key]
        changes = [
            {"field": name, "before": before.get(name), "after": after.get(name)}
            for name in _COMPARED
            if before.get(name) != after.get(name)
        ]
        if changes:
            row = _element_row(key, after)
            was_high_impact = bool(before.get("operation")) and registry.is_high_impact(
                before["operation"]
            )
            row["is_high_impact"] = row["is_high_impact"] or was_high_impact
            changed.append({**row, "changes": changes})

    def operation_rows(names: set[str], outline: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "elements": outline["operations"][name],
                "is_high_impact": registry.is_high_impact(name),
            }
            for name in sorted(names)
        ]

    old_ops, new_ops = set(old["operations"]), set(new["operations"])

    def message_rows(names: set[str], outline: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"name": name, "uses": outline["messages"][name]} for name in sorted(names)]

    old_messages, new_messages = set(old["messages"]), set(new["messages"])
    return {
        "elements": {"added": added, "removed": removed, "changed": changed},
        "lanes": {
            "added": sorted(set(new["lanes"]) - set(old["lanes"])),
            "removed": sorted(set(old["lanes"]) - set(new["lanes"])),
        },
        "operations": {
            "added": operation_rows(new_ops - old_ops, new),
            "removed": operation_rows(old_ops - new_ops, old),
        },
        "messages": {
            "added": message_rows(new_messages - old_messages, new),
            "removed": message_rows(old_messages - new_messages, old),
            "changed": [
                {
                    "name": name,
                    "uses_before": old["messages"][name],
                    "uses": new["messages"][name],
                }
                for name in sorted(old_messages & new_messages)
                if old["messages"][name] != new["messages"][name]
            ],
        },
    }


def high_impact_reasons(diff: dict[str, Any]) -> list[dict[str, str]]:
    """Why the diff needs a second person: every added or changed element that now calls a
    high-impact operation (a new call, or an existing call moved, re-parameterised or reached
    from elsewhere). What follows such a call (its outgoing flows) may change freely."""
    reasons = []
    for kind in ("added", "changed"):
        for row in diff["elements"][kind]:
            if kind == "changed" and all(c["field"] == "outgoing" for c in row["changes"]):
                continue
            if row["operation"] and registry.is_high_impact(row["operation"]):
                reasons.append(
                    {
                        "kind": "high_impact_operation",
                        "operation": row["operation"],
                        "element": row["id"],
                        "change": kind,
                    }
                )
    return reasons
