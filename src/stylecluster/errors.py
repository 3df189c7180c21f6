"""Exceptions that carry a message a user can act on.

Every error raised for bad input names the file, row or parameter, the value seen, what is allowed
and the fix. Entry points print the message and exit non-zero; nothing is swallowed.
"""


class StyleclusterError(Exception):
    """Base class for errors caused by input or configuration, not by a bug."""


class ConfigError(StyleclusterError):
    """A params.yaml key is unknown, of the wrong type or out of range."""


class DataError(StyleclusterError):
    """An input file or table cannot be used as it is."""


class SchemaError(DataError):
    """An artifact lacks a declared column, has the wrong dtype or is misaligned."""


class BackendError(StyleclusterError):
    """An optional backend is not installed or its weights path is not set."""


class ImageTooLargeError(DataError):
    """An image has more pixels than Pillow's decompression-bomb limit allows to decode."""


class ImageMissingError(DataError):
    """An image file named by a post does not exist."""
