"""The evidence service: quests, submissions, reviews and their decisions, on
`evidence.events`. `bootstrap.py` wires it; `domain/` decides; `policies.py` and
`projections.py` act on events (listed in `handlers.py`); `service_layer.py` runs learners' and
reviewers' commands; `entrypoints/` has a router per audience."""
