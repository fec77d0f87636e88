"""`roombot dev`'s console: a person at a terminal (or a script) talking to the local bot.

The bot itself (`bot.local.dev_cli.local_bot`) runs on an event loop in a thread of its own
(`bot_thread`), so the main thread is free to block in `readline`, where Ctrl-C and line
editing behave as in a shell (`terminal`). What the person types becomes what Slack would send:
slash commands, a filled-in modal (`form`, `payloads`), a pressed button (`buttons`); what the
fake Slack then shows is printed as text (`transcript`). The fake Slack's workspace outlives
the process like the database does (`workspace`), and library logs go to a file (`logfile`),
so the console shows only what the channel shows.
"""
