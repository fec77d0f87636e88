"""Local stand-ins for the outside world, kept apart from the production edge.

The fake Slack (Web API, events, Socket Mode), the ACS emulator and the `roombot dev` console
let a newcomer and the tests run roombot with no accounts. Nothing under `bot/` outside this
package imports it except the console-script table in `bot/cli.py`, which names it lazily; the
production image leaves it out (see the Dockerfile), so `roombot dev` and `roombot emulator`
are development tools, not part of a deployment.
"""
