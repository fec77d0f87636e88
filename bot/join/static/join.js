// The join page's script: exchange this link's code for a call token, then start the call.
//
// States (document.body.dataset.state, which the browser tests read):
//   loading  asking roombot for the token, or loading the calling component
//   waiting  the room opens later: a countdown, then the call starts by itself
//   refused  roombot (or the page) said no; data-code holds why, the words say what to do
//   calling  the calling component is loaded and RoombotCall.start() was called
// The token lives only in this script's memory: never in the address bar, storage or a log.
"use strict";

(function () {
  var body = document.body;
  var title = document.getElementById("title");
  var detail = document.getElementById("detail");
  var countdown = document.getElementById("countdown");
  var next = document.getElementById("next");
  var callBox = document.getElementById("call");
  var path = window.location.pathname.replace(/\/+$/, "");
  var timer = null;

  function setState(state, code) {
    body.dataset.state = state;
    if (code) {
      body.dataset.code = code;
    } else {
      delete body.dataset.code;
    }
  }

  function say(heading, words, advice) {
    title.textContent = heading;
    detail.textContent = words || "";
    detail.hidden = !words;
    next.textContent = advice || "";
    next.hidden = !advice;
  }

  function refuse(code, words, advice) {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
    countdown.hidden = true;
    callBox.hidden = true;
    setState("refused", code);
    say(HEADINGS[code] || "You can't join with this link", words, advice);
  }

  var HEADINGS = {
    code_used: "This link has been used already",
    code_expired: "This link has expired",
    code_unknown: "This link doesn't work",
    wrong_workspace: "This link is for another workspace",
    not_invited: "You're no longer in this room",
    room_not_found: "This room doesn't exist any more",
    room_deleted: "This room was deleted",
    room_closed: "This room has closed",
    rate_limited: "Too many tries",
    acs_unavailable: "Azure didn't answer",
    acs_refused: "Azure refused the call token",
    not_configured: "Joining isn't set up here",
    network: "roombot can't be reached",
    token_expired: "Your call token ran out",
    call_not_built: "The calling component isn't built",
    call_failed: "The calling component didn't load",
  };

  function when(ms) {
    return new Date(ms).toLocaleString([], {
      weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function remaining(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var clock = two(hours) + ":" + two(minutes) + ":" + two(rest);
    return days > 0 ? days + (days === 1 ? " day " : " days ") + clock : clock;
  }

  function describe(session, withRoom) {
    var words = "you join as " + String(session.role).toLowerCase() + " · open until " +
      when(Date.parse(session.validUntil));
    var room = session.title ? "“" + session.title + "” (room " + session.roomId + ")"
      : "Room " + session.roomId;
    return withRoom ? room + " · " + words : "You" + words.slice(3);
  }

  function fetchToken() {
    setState("loading");
    var request = {
      method: "POST",
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    };
    fetch(path + "/token", request).then(function (response) {
      return response.json().then(
        function (data) { return { ok: response.ok, status: response.status, data: data }; },
        function () { return { ok: false, status: response.status, data: null }; }
      );
    }, function () {
      return { ok: false, status: 0, data: null };
    }).then(function (answer) {
      var data = answer.data;
      if (answer.ok && data && typeof data.token === "string") {
        proceed(data);
        return;
      }
      if (data && data.error && data.error.code) {
        // roombot's own words already say what to do next
        refuse(String(data.error.code), String(data.error.message || "").replace(/`/g, ""), "");
      } else if (answer.status === 0) {
        refuse("network", "The page could not reach roombot to fetch your call token.",
          "Check your connection, then reload this page: the link is not used up until " +
          "roombot answers.");
      } else {
        refuse("http_" + answer.status, "roombot answered with an error (" + answer.status + ").",
          "Go back to Slack and press Join on the room's card for a new link.");
      }
    });
  }

  function proceed(session) {
    var opens = Date.parse(session.validFrom);
    if (opens > Date.now()) {
      wait(session, opens);
    } else {
      startCall(session);
    }
  }

  function wait(session, opens) {
    var expires = Date.parse(session.expiresOn);
    setState("waiting");
    var advice = "Keep this page open: it joins the call by itself when the room opens.";
    if (expires <= opens) {
      advice = "The room opens after your call token runs out: press Join in Slack again " +
        "closer to the time.";
    }
    say("The room opens " + when(opens), describe(session, true), advice);
    countdown.hidden = false;
    var tick = function () {
      var now = Date.now();
      if (now >= expires) {
        refuse("token_expired", "Your call token ran out before the room opened.",
          "Go back to Slack and press Join on the room's card for a new link.");
      } else if (now >= opens) {
        window.clearInterval(timer);
        timer = null;
        countdown.hidden = true;
        startCall(session);
      } else {
        countdown.textContent = "Opens in " + remaining(opens - now);
      }
    };
    tick();
    timer = window.setInterval(tick, 1000);
  }

  function startCall(session) {
    setState("loading");
    say("Starting the call…", describe(session, true), "");
    var script = document.createElement("script");
    script.src = "static/call.js";
    script.async = true;
    script.onload = function () {
      var call = window.RoombotCall;
      if (!call || typeof call.start !== "function") {
        refuse("call_failed", "The calling component loaded but did not start.",
          "Reload the page; if it happens again, tell an admin.");
        return;
      }
      var connecting = document.createElement("p");
      connecting.className = "roombot-call-message";
      connecting.textContent = "Connecting to Azure's calling service…";
      callBox.replaceChildren(connecting);
      callBox.hidden = false;
      var wanted = Number(new URLSearchParams(window.location.search).get("call-timeout"));
      if (wanted > 0) {
        callBox.dataset.callTimeout = String(wanted);
      }
      setState("calling");
      say(session.title || "Room " + session.roomId, describe(session, false), "");
      call.start(callBox, {
        token: session.token,
        userId: session.userId,
        displayName: session.displayName,
        roomId: session.roomId,
        role: session.role,
        expiresOn: session.expiresOn,
      });
    };
    script.onerror = function () {
      refuse("call_not_built",
        "This roombot was started without its calling component (bot/join/static/call.js).",
        "Whoever runs roombot: `make run` or `make test` builds it (Node.js and npm needed).");
    };
    document.head.appendChild(script);
  }

  fetchToken();
})();
