"""Thin Panel views: each module has ``create_page() -> template``, built once per session."""
