"""voxpipe: prepare, host and send voice messages."""

from .log_redaction import RedactingFilter, install_log_redaction

__all__ = ["RedactingFilter", "install_log_redaction"]
