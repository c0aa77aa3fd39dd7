"""Tests of reminders and change notices to citizens."""
