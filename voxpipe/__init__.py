"""voxpipe: prepare, host and send voice messages."""
