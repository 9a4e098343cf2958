"""Replicate's predictions API: the provider, its field mappings per model, wire structs and
refusals."""
