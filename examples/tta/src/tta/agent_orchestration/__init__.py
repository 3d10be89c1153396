"""Agent orchestration: provider adapters, the agent registry and the turn service."""
