"""Domain exceptions shared by the indexer, the service and the UI."""

from __future__ import annotations


class BabelSearchError(Exception):
    """Base class of every error Babel Search reports to a user."""


class LoaderError(BabelSearchError):
    """A file could not be read or parsed.

    Args:
        source_name: the file's display name (never used as a path).
        reason: what went wrong, in words a user understands.
    """

    def __init__(self, source_name: str, reason: str):
        super().__init__(f"{source_name}: {reason}")
        self.source_name = source_name
        self.reason = reason


class UnsupportedFileTypeError(LoaderError):
    """The file's type has no loader."""


class ModelUnavailableError(BabelSearchError):
    """The embedding or NLI model cannot be loaded or built."""


class ModelMismatchError(BabelSearchError):
    """The index was built with another embedding model than the one configured."""


class IndexNotFoundError(BabelSearchError):
    """No index exists in the data directory."""


class CollectionNotFoundError(BabelSearchError):
    """A named collection does not exist."""


class DocumentNotFoundError(BabelSearchError):
    """A document id does not exist."""


class SettingsError(BabelSearchError, ValueError):
    """A setting has a wrong type or an unknown name (the message says which, where from, and what is valid)."""


class StoreError(BabelSearchError):
    """The metadata store failed (database unreachable, locked, corrupt)."""


class VectorIndexError(BabelSearchError):
    """The vector index failed (corrupt file, wrong dimension)."""


class JobNotFoundError(BabelSearchError):
    """An ingest job id does not exist."""


class QueueError(BabelSearchError):
    """The job queue is misconfigured or unreachable."""
