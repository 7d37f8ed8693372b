"""Evaluation: question files, metrics, summaries, reports and runs through the ask path."""
