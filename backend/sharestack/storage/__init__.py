"""Where files live: one port (:class:`Storage`) and its adapters, the local media volume and
S3-compatible object storage. Keys are opaque paths chosen by the caller; nothing here knows what
a file means."""

from sharestack.storage.port import InvalidKey, Storage, StoredObjectMissing

__all__ = ["InvalidKey", "Storage", "StoredObjectMissing"]
