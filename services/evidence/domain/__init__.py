"""The evidence service's domain: pure decisions, no I/O."""
