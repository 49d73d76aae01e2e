"""API errors and the `Status` objects kube-apiserver returns for them.

Every failure the stand-in reports is an `ApiError`; the HTTP layer turns it into a `Status`
body with the same `code`, `reason` and `details` the real server uses, so clients (and the
`kubernetes` client's `ApiException`) see what they would see against a real cluster.
"""

from __future__ import annotations

from typing import Any

from lab.apiserver.resources import ResourceType


class ApiError(Exception):
    """A request the API server refuses; `status()` renders it as a `Status` object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(rtype: ResourceType, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": rtype.plural}
    if rtype.group:
        details["group"] = rtype.group
    return details


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f"{rtype.describe(name)} not found", details=_details(rtype, name))


def already_exists(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f"{rtype.describe(name)} already exists", details=_details(rtype, name)
    )


def conflict(rtype: ResourceType, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {rtype.describe(name)}: {why}",
        details=_details(rtype, name),
    )


def invalid(rtype: ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """A 422 naming each bad field: `causes` holds (field path, what is wrong with it)."""
    text = ", ".join(f"{path}: {why}" for path, why in causes)
    details = _details(rtype, name)
    details["kind"] = rtype.kind
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": why, "field": path} for path, why in causes
    ]
    return ApiError(422, "Invalid", f'{rtype.kind} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
