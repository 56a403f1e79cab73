"""Errors a service raises for the user: the message is Chinese and names the field and the fix."""

from qiangcun.core.origin import note_refusal


class ServiceError(Exception):
    """A refused write. ``field`` names the input it is about, when there is one. ``noted`` false: not a
    refusal the change log records (e.g. a retry answered with what the first try saved)."""

    noted = True

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        if self.noted:
            note_refusal(message)  # for the change log's record of a failed write (core.origin)
        self.field = field
        self.code = code


class PermissionDeniedError(ServiceError):
    def __init__(self, message: str = "没有权限执行此操作") -> None:
        super().__init__(message, code="forbidden")


class NotFoundError(ServiceError):
    def __init__(self, message: str = "记录不存在或不在您的管辖范围内") -> None:
        super().__init__(message, code="not_found")
