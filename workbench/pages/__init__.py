"""Thin Panel views: each page module has ``create_page() -> template``, built once per session,
with widgets derived from its model's params (``common.setting``); ``plots`` and ``live_plots``
draw the Trainer's figures (PNG export and live page)."""
