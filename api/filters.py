"""Query-string checks shared by the list views."""

from workflows.exceptions import InvalidInput

PAGING = {"page", "page_size"}


def refuse_unknown_filters(query_params, filterset_class) -> None:
    """400 naming each query parameter that is neither a filter of the view nor paging."""
    unknown = sorted(set(query_params) - {*filterset_class.base_filters, *PAGING})
    if unknown:
        raise InvalidInput([{"field": k, "message": "unknown filter"} for k in unknown])
