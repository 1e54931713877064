"""The workbench's settings: ``param.Parameterized`` classes with each setting's bounds, step,
label and help, its URL key and validation. No Panel, no threads (the pages derive their widgets
from these params; ``workbench.serving`` runs what they describe)."""
