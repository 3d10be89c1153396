"""Player experience: accounts, character sheets and session management."""
