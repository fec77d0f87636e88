"""The Slack edge: requests from Slack in, answers to Slack out, and nothing in between.

`app.build_app` is the Bolt app (slash commands, buttons, the modal) that journals what it
accepts and hands the work to the service; `answerer` shows each outcome in Block Kit
(`blocks`); `adapter` and `socket_mode` carry Slack's requests over HTTP or Socket Mode. It
never builds an ACS request: that is `bot.acs`, called by `bot.service`.
"""
