// The join page's calling component: window.RoombotCall.start(container, session).
//
// The join page (bot/join) loads this bundle only once it holds a token, so its first paint
// stays light; this file turns that token into the ACS UI Library's CallComposite for the room.
// Progress is written to document.body.dataset.call, which is the contract with the page and
// with the browser tests:
//   "adapter"  the call adapter was asked for, with the room's locator
//   "joined"   the call is connected
//   "offline"  adapter creation or joining did not finish in time (plain words are shown)
//   "error"    something failed outright (plain words are shown)
// Nothing here logs or stores the token, and nothing puts it in a URL.

import "./fabric-config";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import {
  CallComposite,
  createAzureCommunicationCallAdapter,
  type CallAdapter,
  type CallAdapterState,
} from "@azure/communication-react";
import { createElement } from "react";
import { createRoot, type Root } from "react-dom/client";

/** What the join page hands over once POST /join/{code}/token answered. */
export interface CallSession {
  token: string;
  userId: string;
  displayName: string;
  roomId: string;
  role: string;
  expiresOn: string;
  /** Set by the server when the token comes from the local ACS emulator. */
  emulator?: boolean;
  /** How long adapter creation, and then joining, may take (ms); tests make it small. */
  timeoutMs?: number;
}

export type CallState = "adapter" | "joined" | "offline" | "error";

/** About 20 s: a real call agent on a slow network is up in a few seconds. */
export const DEFAULT_TIMEOUT_MS = 20_000;

const REQUIRED_FIELDS = ["token", "userId", "displayName", "roomId", "role", "expiresOn"] as const;

const EMULATOR_WORDS = {
  title: "This is the local ACS emulator: calls need a real Azure resource.",
  next:
    "Everything up to the call worked: your link, your identity in the room and your token. " +
    "To make a real call, run roombot with ACS_CONNECTION_STRING set to an Azure Communication " +
    "Services resource, then open a new link.",
};

const UNREACHABLE_WORDS = {
  title: "Can't reach Azure's calling service.",
  next:
    "Your link worked and this page holds your token, but the call could not connect. " +
    "Check your network (a VPN, proxy or firewall may block Azure Communication Services), " +
    "then press Try again. (Reloading the page would not help: the link is used up once it " +
    "gave you a token.)",
};

// The join link is used up once it gave this page its token, so the advice never says
// "reload": Try again reuses the token in memory; past that, Slack gives a new link.
const NEW_LINK = "ask in Slack for a new join link";

function setState(state: CallState): void {
  document.body.dataset.call = state;
}

type Tone = "notice" | "problem";

const TONES: Record<Tone, { edge: string; background: string }> = {
  notice: { edge: "#8a6d00", background: "#fff8e1" },
  problem: { edge: "#a4262c", background: "#fdf3f4" },
};

/** Plain words in place of the call, with what to do next; text only, never HTML. With
 * *retry*, a Try again button runs it (the token is still in memory).
 *
 * Styled through the CSSOM (`element.style`), which a strict style-src allows, so the page needs
 * no stylesheet of ours. */
function showWords(
  container: HTMLElement,
  tone: Tone,
  title: string,
  next: string,
  detail?: string,
  retry?: () => void,
): void {
  const box = document.createElement("div");
  box.className = `roombot-call-message roombot-call-${tone}`;
  box.setAttribute("role", tone === "problem" ? "alert" : "status");
  Object.assign(box.style, {
    maxWidth: "40rem",
    padding: "0.75rem 1rem",
    borderLeft: `4px solid ${TONES[tone].edge}`,
    borderRadius: "4px",
    background: TONES[tone].background,
    color: "#201f1e",
    lineHeight: "1.4",
  });
  const heading = document.createElement("p");
  heading.className = "roombot-call-title";
  heading.textContent = title;
  Object.assign(heading.style, { margin: "0 0 0.5rem", fontWeight: "600", fontSize: "1.1em" });
  box.append(heading);
  if (detail) {
    const reason = document.createElement("p");
    reason.className = "roombot-call-detail";
    reason.textContent = detail;
    Object.assign(reason.style, { margin: "0 0 0.5rem", fontFamily: "monospace" });
    box.append(reason);
  }
  const advice = document.createElement("p");
  advice.className = "roombot-call-next";
  advice.textContent = next;
  advice.style.margin = "0";
  box.append(advice);
  if (retry) {
    const again = document.createElement("button");
    again.type = "button";
    again.className = "roombot-call-retry";
    again.textContent = "Try again";
    Object.assign(again.style, {
      marginTop: "0.75rem",
      padding: "0.4rem 1rem",
      font: "inherit",
      cursor: "pointer",
    });
    again.addEventListener("click", retry, { once: true });
    box.append(again);
  }
  container.replaceChildren(box);
}

/** A quiet line while the call agent starts, so the page is never blank while it waits. */
function showProgress(container: HTMLElement): void {
  const line = document.createElement("p");
  line.className = "roombot-call-progress";
  line.setAttribute("role", "status");
  line.textContent = "Starting the call…";
  line.style.color = "#605e5c";
  container.replaceChildren(line);
}

/** Whether the token was minted by the local emulator: the server says so, or the token's
 * own region claim does (the emulator writes `"rgn": "emulator"`; Azure writes a real region). */
export function isEmulator(session: CallSession): boolean {
  if (session.emulator === true) {
    return true;
  }
  try {
    const payload = session.token.split(".")[1] ?? "";
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
    return typeof claims === "object" && claims !== null && (claims as { rgn?: unknown }).rgn === "emulator";
  } catch {
    return false;
  }
}

function missingFields(session: Partial<CallSession> | null | undefined): string[] {
  if (typeof session !== "object" || session === null) {
    return [...REQUIRED_FIELDS];
  }
  return REQUIRED_FIELDS.filter((name) => typeof session[name] !== "string" || session[name] === "");
}

/** Resolves with the promise's value, or with `undefined` once *ms* have passed first. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = window.setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        window.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        window.clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function timeoutOf(session: CallSession, container: HTMLElement): number {
  const attribute = Number(container.dataset.callTimeout);
  if (typeof session.timeoutMs === "number" && session.timeoutMs > 0) {
    return session.timeoutMs;
  }
  return Number.isFinite(attribute) && attribute > 0 ? attribute : DEFAULT_TIMEOUT_MS;
}

/** Starts the call UI for *session* in *container*; resolves once the outcome is decided
 * (composite rendered, offline words or error words shown) and never rejects. */
export async function start(container: HTMLElement, session: CallSession): Promise<void> {
  performance.mark("roombot-call-start");
  const missing = missingFields(session);
  if (missing.length > 0) {
    setState("error");
    showWords(
      container,
      "problem",
      `The call could not start: the page did not pass ${missing.join(", ")}.`,
      `This is a fault in roombot's join page, not in your link: ${NEW_LINK}, and tell ` +
        "whoever runs roombot if it happens again.",
    );
    return;
  }
  const expires = Date.parse(session.expiresOn);
  if (Number.isNaN(expires) || expires <= Date.now()) {
    setState("error");
    showWords(
      container,
      "problem",
      Number.isNaN(expires)
        ? `The call could not start: the token's expiry "${session.expiresOn}" is not a date.`
        : "The call could not start: your token for this room has expired.",
      "Ask in Slack for a new join link (each link gives one token).",
    );
    return;
  }
  const emulator = isEmulator(session);
  const again = (): void => {
    void start(container, session);
  };
  const offline = (): void => {
    setState("offline");
    if (emulator) {
      showWords(container, "notice", EMULATOR_WORDS.title, EMULATOR_WORDS.next);
    } else {
      const words = UNREACHABLE_WORDS;
      showWords(container, "notice", words.title, words.next, undefined, again);
    }
  };
  const failed = (error: unknown): void => {
    setState("error");
    const reason = error instanceof Error ? error.message : String(error);
    const insecure = /https/i.test(reason) && window.location.protocol !== "https:";
    showWords(
      container,
      "problem",
      insecure
        ? "The call could not start: calls need this page on https."
        : "The call could not start.",
      insecure
        ? "Tell whoever runs roombot: its public URL (ROOMBOT_PUBLIC_URL) must be https. " +
            `Then ${NEW_LINK}.`
        : `Press Try again; if it keeps failing, ${NEW_LINK}.`,
      reason,
      insecure ? undefined : again,
    );
  };
  const timeoutMs = timeoutOf(session, container);

  let credential: AzureCommunicationTokenCredential;
  try {
    credential = new AzureCommunicationTokenCredential(session.token);
  } catch (error) {
    failed(error);
    return;
  }
  showProgress(container);
  const creating = createAzureCommunicationCallAdapter({
    userId: { communicationUserId: session.userId },
    displayName: session.displayName,
    credential,
    locator: { roomId: session.roomId },
  });
  performance.mark("roombot-call-adapter");
  setState("adapter");

  let adapter: CallAdapter | undefined;
  try {
    adapter = await within(creating, timeoutMs);
  } catch (error) {
    failed(error);
    return;
  }
  if (adapter === undefined) {
    // The call agent may still appear later; close it then rather than leave it running.
    creating.then((late) => late.dispose()).catch(() => undefined);
    offline();
    return;
  }
  render(container, adapter, timeoutMs, offline);
}

/** Renders the composite and follows the call: `joined` once connected, `offline` when a
 * join that was asked for has not connected within *timeoutMs*. */
function render(
  container: HTMLElement,
  adapter: CallAdapter,
  timeoutMs: number,
  offline: () => void,
): void {
  container.replaceChildren();
  const root: Root = createRoot(container);
  const formFactor = window.matchMedia("(max-width: 600px)").matches ? "mobile" : "desktop";
  root.render(createElement(CallComposite, { adapter, formFactor }));

  // Only the first join is timed: leaving and rejoining is the composite's own business.
  let joinTimer: number | undefined;
  let joined = false;
  const giveUp = (): void => {
    window.clearTimeout(joinTimer);
    adapter.offStateChange(follow);
    root.unmount();
    adapter.dispose();
    offline();
  };
  const follow = (state: CallAdapterState): void => {
    // Which composite page shows (configuration, lobby, call…): for the page and for tests.
    document.body.dataset.callPage = state.page;
    const callState = state.call?.state;
    if (callState === "Connected") {
      window.clearTimeout(joinTimer);
      joined = true;
      setState("joined");
    } else if (!joined && state.page === "joinCallFailedDueToNoNetwork") {
      giveUp();
    } else if (!joined && joinTimer === undefined && callState !== undefined) {
      joinTimer = window.setTimeout(giveUp, timeoutMs);
    }
  };
  adapter.onStateChange(follow);
}

declare global {
  interface Window {
    RoombotCall: { start: typeof start };
  }
}

window.RoombotCall = { start };
