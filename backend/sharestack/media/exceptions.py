from sharestack.errors import AppError, Forbidden, NotFound


class MediaNotFound(NotFound):
    code = "media_not_found"
    message = "Media not found."


class NotOwner(Forbidden):
    code = "not_owner"
    message = "Only the owner can change this media."


class MediaForbidden(Forbidden):
    """A subscribers-only file asked for by someone who is neither its owner nor a subscriber."""

    code = "subscribers_only"
    message = "This media is for the creator's subscribers."


class QuotaExceeded(Forbidden):
    code = "media_quota_exceeded"
    message = "Your media quota is used up; delete some media first."


class InvalidImage(AppError):
    """The upload is not a well-formed image of an accepted format; the message says why."""

    status_code = 422
    code = "invalid_image"
    message = "The file is not a valid image."


class UnsupportedImageType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Only JPEG, PNG, WebP and GIF images are accepted."


class ImageTooLarge(AppError):
    status_code = 413
    code = "image_too_large"
    message = "The image is too large."


class InvalidMediaReference(NotFound):
    """A content item names media that is not the author's (or no longer exists)."""

    code = "invalid_media_reference"
    message = "A referenced media item does not exist or is not yours."
