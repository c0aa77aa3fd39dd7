"""A visit's life: its status rules (``status``), the one writer of its status
(``lifecycle``) and of its outcomes (``outcomes``), the team's alerts and tasks (``inbox``),
the live updates (``updates``), the day list (``daylist``), tablet readiness (``readiness``)
and who makes it (``continuity``, ``assignment``)."""
