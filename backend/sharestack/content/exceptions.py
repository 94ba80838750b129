from sharestack.errors import AppError, Forbidden, NotFound


class ContentNotFound(NotFound):
    code = "content_not_found"
    message = "Content not found."


class NotAuthor(Forbidden):
    code = "not_author"
    message = "Only the author can change this content."


class TagNotFound(NotFound):
    code = "tag_not_found"
    message = "Tag not found."


class VersionNotFound(NotFound):
    code = "version_not_found"
    message = "Version not found."


class StaleVersion(AppError):
    """``If-Match`` named a version that is no longer the item's (someone saved since)."""

    status_code = 412
    code = "precondition_failed"
    message = "The item has changed since that version; read it again and retry."
