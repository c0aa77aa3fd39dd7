"""A citizen's record: the overview the citizen page shows (``overview``), agreement sheets
(``agreements``), tablet enrolment (``enrolment``) and what the tablet's idle screen says
(``kiosk_home``)."""
