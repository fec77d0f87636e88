"""The join page: personal links from Slack open here, exchange their code for an ACS token,
and enter the room's call with the ACS UI Library (`static/call.js`, built from `web/`).

`routes.mount` adds it to the bot's aiohttp app; nothing here talks to Slack or builds ACS
requests (that is `bot.service.join`).
"""
