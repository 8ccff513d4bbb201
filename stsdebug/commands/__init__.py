"""Command groups that live in their own modules (tui, sandbox, demo, bundle)."""
