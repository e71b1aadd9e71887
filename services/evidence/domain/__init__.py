"""The evidence service's domain, pure (no I/O): quests with their submissions and reviews
(`quests`: state, `evolve`, every `decide_*`), signing in again (`sign_in`), what it knows of
badges and offers (`badges`), and what evidence files and limits are (`evidence_files`,
`limits`)."""
