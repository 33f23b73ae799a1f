"""Model backends: the builtin deterministic model, OpenAI and OpenAI-compatible servers."""
