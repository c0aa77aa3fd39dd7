"""The headless kiosk agent and the tablet web client."""
