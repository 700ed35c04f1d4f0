"""The OpenID Connect provider: every service signs people in through it (see server.py for the protocol,
authorization.py for our policy, claims.py for what a service may learn)."""
