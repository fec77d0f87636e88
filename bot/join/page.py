"""The join page's HTML: a light shell that paints at once; `static/join.js` does the rest.

No inline script or style (the Content-Security-Policy forbids both) and no code or token in
the markup: the script reads its code from the address bar and POSTs it back. Asset paths are
relative, so the page also works when ROOMBOT_PUBLIC_URL has a path (a proxy's prefix).
"""

from __future__ import annotations

from html import escape

JOIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>Join the call · roombot</title>
<link rel="stylesheet" href="static/join.css">
<script src="static/join.js" defer></script>
</head>
<body data-state="loading">
<main>
  <p class="brand">roombot</p>
  <h1 id="title">Joining your room…</h1>
  <p id="detail">Checking your link.</p>
  <p id="countdown" class="countdown" hidden></p>
  <p id="next" class="next" hidden></p>
  <noscript><p>This page needs JavaScript to join the call.</p></noscript>
</main>
<div id="call" class="call" hidden></div>
</body>
</html>
"""


def message_page(heading: str, words: str, *, code: str, state: str = "refused") -> str:
    """A page that only says something (no script): the room link's answers and refusals."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{escape(heading)} · roombot</title>
<link rel="stylesheet" href="{STATIC_FROM_ROOMS}join.css">
</head>
<body data-state="{escape(state)}" data-code="{escape(code)}">
<main>
  <p class="brand">roombot</p>
  <h1 id="title">{escape(heading)}</h1>
  <p id="detail">{escape(words)}</p>
</main>
</body>
</html>
"""


STATIC_FROM_ROOMS = "../join/static/"
"""The stylesheet seen from /rooms/…: relative, like every asset path here (see above)."""
