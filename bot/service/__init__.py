"""The service layer: what roombot does with a command, apart from who asked and how.

Between the edges: `bot.slack` hands it commands and shows its outcomes through the narrow
protocols of `ports`; it calls ACS through `bot.acs` and keeps its records in `bot.store`.
It knows no Slack type and builds no HTTP request, so a command journalled before a restart
is finished after it without the request that started it.

    interpret   a journalled command as typed -> a ResolvedCommand with absolute values
    rooms       RoomService: applies resolved commands to ACS and the registry, idempotently
    join        JoinService: join codes exchanged for ACS tokens (the join page's work)
    runner      CommandRunner: one journal entry from wherever it stopped to answered
    worker      JournalWorker: claims journal entries and runs them, under leases
    recovery    AcsRecoveryWatch: notices ACS answering again and hurries what waited
    outcomes, refusals, resolved, limits, ports: the values and rules those share
"""
