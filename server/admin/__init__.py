"""The administrator's services: staff and teams (``staff``), the organisation's tablets
(``tablets``) and the audit log (``auditlog``); organisation settings live in ``orgsettings``."""
