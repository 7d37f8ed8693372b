"""Grounded answers: the LLM path, the offline extractive path, citation checking, refusal."""
