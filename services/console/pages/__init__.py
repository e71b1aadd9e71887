"""One router per area of the console: sign_in (and sessions), dashboard, activities,
playlists, keys, colleagues; badges and issuing; reviews."""
