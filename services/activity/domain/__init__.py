"""The activity service's domain: pure decisions and state changes, no I/O."""
