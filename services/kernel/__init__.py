"""The event kernel every service shares: publishing, consuming with offsets in PostgreSQL,
deduplication, dead letters, rebuild and checksum."""
