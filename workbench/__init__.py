"""SpikingGamma Workbench: a browser app to watch SpikingGamma networks learn.

Layers: ``*_model.py`` hold state in ``param`` classes and import no Panel; ``pages/`` are thin
Panel views; :func:`workbench.app.create_app` builds one page per browser session. Nothing heavy
is imported here: ``import workbench`` pulls in neither torch nor panel.
"""
