"""The explain stage: findings that share a cause, explained by an LLM in one call per group."""
