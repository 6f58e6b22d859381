"""The `agentwrite` and `longweave` commands."""
