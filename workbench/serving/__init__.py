"""What runs behind the pages: training sessions and their thread (``session``,
``session_loop``), training slots and classroom limits (``classroom``), worker processes
(``worker``) running one Trainer run each (``run``, sending ``snapshot``\\ s), and the Resolution
explorer's trained networks (``resolution``, ``resolution_store``). No Panel here."""
