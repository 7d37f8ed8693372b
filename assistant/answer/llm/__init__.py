"""LLM answers: the OpenAI-compatible client, prompts, the context budget and the answer writer."""
