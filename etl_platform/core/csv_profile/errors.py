"""The one exception type callers need to catch."""


class CsvProfileError(Exception):
    """The file cannot be profiled; ``str(exc)`` is a human-readable reason.

    Messages: ``"file is empty"``, ``"not a text file (binary content)"``,
    ``"CSV parsing failed: ..."``.
    """
