"""roombot: a Slack bot that creates and manages Azure Communication Services Rooms."""
