"""The staff console: today's call list, the call view, outcomes, the citizen page, admin."""
