"""SpikingGamma Workbench: a browser app to watch SpikingGamma networks learn.

Split by what it holds: ``models/`` are ``param`` classes (settings with their bounds, help, URL
keys and validation; no Panel, no threads), ``serving/`` runs what they describe (sessions,
training slots, worker processes, the explorer's store), ``pages/`` are thin Panel views whose
widgets are derived from the params, ``bench/`` the load benchmarks. :func:`workbench.app.create_app`
builds one page per browser session. Nothing heavy is imported here: ``import workbench`` pulls
in neither torch nor panel.
"""
