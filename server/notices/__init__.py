"""Reminders and change notices to citizens, on the tablet's idle screen or by SMS."""
