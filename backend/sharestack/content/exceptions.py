from sharestack.errors import Forbidden, NotFound


class ContentNotFound(NotFound):
    code = "content_not_found"
    message = "Content not found."


class NotAuthor(Forbidden):
    code = "not_author"
    message = "Only the author can change this content."


class TagNotFound(NotFound):
    code = "tag_not_found"
    message = "Tag not found."
