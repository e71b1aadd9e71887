"""The activity service's domain: pure decisions and state changes, no I/O.

Each aggregate has a frozen state, an `evolve_*(state, envelope)` for every event of its stream
and its rules as `decide_*` (events, or a domain error): organisations.py (the Issuer profile),
organisers.py (organisers, their admin role and API keys; the bootstrap), model.py (activities
and playlists); streams.py says which stream each event is on, keys.py mints API keys.
"""
