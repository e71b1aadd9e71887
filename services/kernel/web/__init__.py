"""What every service's web face shares: pages for browsers, headers, Origin checks, limits."""
