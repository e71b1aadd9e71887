"""The notifier's domain: the state of each email, kept by `evolve` from the notifier's own
events, and its rules as pure `decide_*` functions. No I/O: no SMTP, no SQL, no Kafka."""
