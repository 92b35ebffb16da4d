// The real Baton window, driven through WebDriver (tauri-driver + WebKitWebDriver) on
// the embedded live simulator. Started by ./run.sh, which sets the app's environment.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { remote } from "webdriverio";

const shots = new URL("./screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
let browser;

// The secrets of the account the settings test adds: canaries, looked for in every file
// the app writes. The token is this run's own (run.sh gives it to the simulator); the
// Sunshine Conversations key secret is the simulator's.
const TOKEN = process.env.BATON_E2E_TOKEN;
const SUNCO_SECRET = "sim-sunco-secret";
assert.ok(TOKEN && TOKEN.length >= 16, "run.sh sets BATON_E2E_TOKEN");

/** Every file the app may write, with what it holds: its database with the `-wal` and
 * `-shm` beside it (and the demo's), its logs and everything else under its data dir, its
 * config dir (accounts, window state), and the driver's log, which holds the app's
 * stderr. Not the keyring's own files: that is where secrets belong (encrypted). */
function appFiles() {
  const work = process.env.BATON_E2E_WORK;
  const keyrings = join(process.env.XDG_DATA_HOME, "keyrings");
  const files = [];
  const walk = (path) => {
    if (path === keyrings) return;
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
    else if (st.isFile()) files.push(path);
  };
  for (const f of readdirSync(work).filter((f) => f.startsWith("baton.db") || f.startsWith("demo.db"))) walk(join(work, f));
  walk(process.env.XDG_DATA_HOME);
  walk(process.env.XDG_CONFIG_HOME);
  walk(join(work, "driver.log"));
  return files.map((path) => ({ path, bytes: readFileSync(path) }));
}

/** Fails if a secret is in any file the app wrote; checks the scan saw what it must. */
function assertNoSecretOnDisk(when, must = ["baton.db", "baton.db-wal"]) {
  const files = appFiles();
  const names = files.map((f) => f.path.slice(process.env.BATON_E2E_WORK.length + 1));
  for (const m of must) assert.ok(names.includes(m), `${when}: ${m} was scanned; scanned: ${names.join(", ")}`);
  assert.ok(names.some((n) => /\/baton\/logs\/baton\..*log$/.test(n)), `${when}: a log file was scanned; scanned: ${names.join(", ")}`);
  // The scan reads what the app stores: the account's URL is in the database.
  assert.ok(files.some((f) => f.path.includes("baton.db") && f.bytes.includes(process.env.BATON_E2E_SIM_URL)), `${when}: the account is in the scanned database`);
  for (const secret of [TOKEN, SUNCO_SECRET]) {
    const leaks = files.filter((f) => f.bytes.includes(secret)).map((f) => f.path);
    assert.deepEqual(leaks, [], `${when}: a secret (${secret.slice(0, 4)}…) is on disk in ${leaks.join(", ")}`);
  }
}

/** Scrolls through the virtual list like a rep would, looking for a row: its source tag's
 * text when found (clicked when asked), null when it is not in the queue. */
const findRow = (id, { click = false } = {}) =>
  browser.execute(
    async (id, click) => {
      const q = document.querySelector("[data-testid=queue]");
      for (let top = 0; top <= q.scrollHeight; top += q.clientHeight) {
        q.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(r));
        const el = q.querySelector(`[data-external-id="${id}"]`);
        if (el) {
          if (click) el.click();
          return el.querySelector("[data-testid=source-tag]")?.textContent ?? "";
        }
      }
      return null;
    },
    String(id),
    click,
  );

/** A backend command, called the way the UI calls it. */
async function invoke(cmd, args = {}) {
  return browser.execute(
    (cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args),
    cmd,
    args,
  );
}
const QUEUE = { filter: {} };
const rowIds = () =>
  browser.execute(() =>
    [...document.querySelectorAll("[data-testid=queue-row]")]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((r) => r.dataset.externalId),
  );
/** axe-core's WCAG 2.1 A and AA checks over what the window shows now. */
const AXE = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
async function accessibilityViolations() {
  if (!(await browser.execute(() => typeof window.axe === "object"))) await browser.execute(AXE);
  return browser.execute(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.slice(0, 4).map((n) => `    ${n.target.join(" ")}: ${n.failureSummary.split("\n").slice(1).join("; ")}`).join("\n")}`);
  });
}

/** Scrolls the virtual queue until the row is drawn, then clicks it like a rep. */
async function clickRow(id) {
  await browser.execute(async (id) => {
    const q = document.querySelector("[data-testid=queue]");
    for (let top = 0; !q.querySelector(`[data-id="${id}"]`) && top <= q.scrollHeight; top += q.clientHeight) {
      q.scrollTop = top;
      await new Promise((r) => requestAnimationFrame(r));
    }
  }, id);
  await fresh(() => browser.$(`[data-testid=queue-row][data-id="${id}"]`).click());
}
/** Clicks the row at the top of the queue. The live queue can take that row away between
 * reading it and clicking it (the scenario answers or closes it): then the rep's click lands
 * on the new top row, so read the top again. */
async function clickTopRow() {
  for (let tries = 1; ; tries++) {
    const id = await browser.execute(async () => {
      const q = document.querySelector("[data-testid=queue]");
      q.scrollTop = 0;
      await new Promise((r) => requestAnimationFrame(r));
      return [...q.querySelectorAll("[data-testid=queue-row]")].find((r) => parseFloat(r.style.top) === 0)?.dataset.id;
    });
    assert.ok(id, "the queue has a row at the top");
    try {
      return await clickRow(id);
    } catch (e) {
      if (tries === 5 || !String(e.message).includes("wasn't found")) throw e;
    }
  }
}
/** The live queue can redraw a row between WebDriver finding it and using it
 * (WebKitWebDriver: "stale element"); a rep's click would land on the new one, so find it again. */
async function fresh(act) {
  for (let tries = 1; ; tries++) {
    try {
      return await act();
    } catch (e) {
      if (tries === 5 || e.name !== "stale element reference") throw e;
    }
  }
}
const selectedId = () =>
  browser.execute(() => document.querySelector("[data-testid=queue-row][aria-selected=true]")?.dataset.id ?? null);

/** Starts the app under WebDriver and waits for its queue. */
async function launch() {
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.WEBDRIVER_PORT),
    logLevel: "silent", // failures still throw; expected ones (no alert) stay quiet
    capabilities: { "tauri:options": { application: process.env.BATON_APP } },
  });
  await browser.$("[data-testid=queue-row]").waitForExist({ timeout: 30_000 });
}
/** The running app's process ids: the binary the session started, with this run's
 * database (other runs on the machine use the same binary). A killed process that is not
 * reaped yet has no exe link any more, so it is not counted. */
function appPids() {
  const app = process.env.BATON_APP;
  const pids = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const exe = readlinkSync(`/proc/${pid}/exe`);
      // "(deleted)": the binary was rebuilt while the app ran.
      if (exe !== app && exe !== `${app} (deleted)`) continue;
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (env.includes(`BATON_DB=${process.env.BATON_DB}`)) pids.push(Number(pid));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** A crash: SIGKILL to the app, which gets no chance to save, flush or say goodbye (a
 * WebDriver session's end closes the window cleanly, which is not what a crash tests). */
async function crash() {
  const pids = appPids();
  assert.equal(pids.length, 1, `one app process to kill: ${JSON.stringify(pids)}`);
  process.kill(pids[0], "SIGKILL");
  for (let k = 0; appPids().length > 0; k++) {
    assert.ok(k < 100, "the killed app is still running");
    await new Promise((r) => setTimeout(r, 50));
  }
  // The session's browser is gone: end the session without waiting on the app.
  await Promise.race([browser.deleteSession().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
}

/** What the accounts form says (empty until it says something). */
async function settingsMessage() {
  const m = browser.$("[data-testid=settings-message]");
  return (await m.isExisting()) ? m.getText() : "";
}

/** Fills the accounts form for the second simulator's account and submits it. */
async function fillAccountForm(token, suncoSecret) {
  await browser.$("input[name=url]").setValue(process.env.BATON_E2E_SIM_URL);
  await browser.$("input[name=email]").setValue("alex@acme.test");
  await browser.$("input[name=token]").setValue(token);
  await browser.$("input[name=name]").setValue("e2e");
  if (suncoSecret) {
    // The simulator's Sunshine Conversations app and key.
    if (!(await browser.$("input[name=sunco_app]").isDisplayed())) await browser.$("form summary").click();
    await browser.$("input[name=sunco_app]").setValue("5f1e6d4c3b2a190817263544");
    await browser.$("input[name=sunco_key]").setValue("app_5f1e6d4c3b2a1908");
    await browser.$("input[name=sunco_secret]").setValue(suncoSecret);
  }
  await browser.$("form button[type=submit]").click();
}

/** Sets a simulator's faults (`{}`: none). */
async function simFaults(url, faults) {
  const r = await fetch(`${url}/__sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(faults) });
  assert.equal(r.status, 204);
}

/** What the status chip said in each state the tests drove it into: each its own words. */
const chipSaid = {};
/** The status chip's words, without its account's name. */
const chipWords = () => browser.execute(() => document.querySelector("[data-testid=status-chip] > span:last-of-type")?.textContent ?? "");

before(async () => {
  await launch();
  await browser.waitUntil(
    async () => (await browser.$("[data-testid=status-chip]").getAttribute("data-state")) === "synced",
    { timeout: 30_000, timeoutMsg: "the demo account never finished its first sync" },
  );
});

after(async () => {
  await browser?.deleteSession();
});

test("the queue shows the handoffs in the backend's order: mine first, longest waiting first", async () => {
  assert.ok(await browser.$("[data-testid=demo-banner]").isDisplayed(), "demo data is said out loud");
  const info = await invoke("app_info");
  let shown, backend;
  // The live simulator keeps adding: compare a stable moment.
  await browser.waitUntil(async () => {
    shown = await rowIds();
    backend = (await invoke("queue", QUEUE)).map((i) => i.external_id);
    return shown.length > 5 && shown.every((id, k) => backend[k] === id);
  }, { timeout: 10_000, timeoutMsg: "the rows never matched the backend's queue order" });
  const items = await invoke("queue", QUEUE);
  const rank = { mine: 0, my_groups: 1, other: 2 };
  for (const scope of ["mine", "my_groups", "other"]) assert.ok(items.some((i) => i.scope === scope), `the demo has ${scope} conversations`);
  for (let k = 1; k < items.length; k++) {
    const [a, b] = [items[k - 1], items[k]];
    assert.ok(rank[a.scope] < rank[b.scope] || (rank[a.scope] === rank[b.scope] && a.waiting_since <= b.waiting_since), "mine, then my groups', then the rest; longest waiting first in each");
  }
  // The demo's Zendesk rep (its Salesforce org names the same rep by its own user id).
  assert.ok(items.filter((i) => i.scope === "mine" && i.source === "zendesk").every((i) => i.assignee_id === info.me_id));
  assert.ok(items.filter((i) => i.scope === "my_groups").every((i) => i.assignee_id === null));
  await browser.saveScreenshot(`${shots}queue.png`);
});

test("opening a handoff shows its reason, ids, transcript and draft panel", async () => {
  const items = await invoke("queue", QUEUE);
  const handoff = items.find((i) => i.is_handoff && i.reason);
  const want = await invoke("detail", { id: handoff.id });
  // Select it with the keyboard from the top of the list, then open with Enter.
  // (Live arrivals can land above it meanwhile: j until it is selected, within bounds.)
  await clickTopRow();
  for (let k = 0; k < items.length && (await selectedId()) !== String(handoff.id); k++) await browser.keys("j");
  assert.equal(await selectedId(), String(handoff.id));
  await browser.keys("Enter");
  const reason = browser.$("[data-testid=reason]");
  await reason.waitForExist({ timeout: 5_000 });
  assert.equal(await reason.getText(), `Reason: ${want.handoff.reason}`);
  assert.equal(await browser.$("[data-testid=session-id]").getText(), want.opencx_session_id);
  const bodies = await browser.$$("[data-testid=message-body]");
  assert.equal(bodies.length, want.messages.length);
  assert.ok(await browser.$("[data-testid=draft-panel]").isExisting());
  await browser.saveScreenshot(`${shots}handoff.png`);

  const drafted = items.find((i) => i.has_pending_draft);
  const d = await invoke("detail", { id: drafted.id });
  await clickRow(drafted.id);
  await browser.waitUntil(async () => (await browser.$("[data-testid=draft-text]").isExisting()), { timeout: 5_000 });
  assert.equal(await browser.$("[data-testid=draft-text]").getText(), d.drafts.find((x) => x.state === "pending").text.replace(/\n\n/g, "\n\n"));
  await browser.saveScreenshot(`${shots}draft.png`);
});

test("the main screen, the shortcuts list, the accounts form and the drafts report pass WCAG 2.1 AA checks (axe-core)", async () => {
  const items = await invoke("queue", QUEUE);
  await clickRow(items.find((i) => i.has_pending_draft).id);
  await browser.$("[data-testid=draft-text]").waitForExist({ timeout: 5_000 });
  const found = { main: await accessibilityViolations() };
  await browser.keys("?");
  await browser.$("[data-testid=help]").waitForExist({ timeout: 2_000 });
  found.help = await accessibilityViolations();
  await browser.keys("Escape");
  await browser.$("[data-testid=open-settings]").click();
  await browser.$("[data-testid=settings]").waitForExist({ timeout: 2_000 });
  found.settings = await accessibilityViolations();
  await browser.keys("Escape");
  await browser.keys("R");
  await browser.$("[data-testid=report]").waitForExist({ timeout: 2_000 });
  found.report = await accessibilityViolations();
  await browser.keys("Escape");
  for (const [screen, violations] of Object.entries(found)) assert.deepEqual(violations, [], `${screen}:\n${violations.join("\n")}`);
});

test("a long transcript opens at the handoff point, a page either side, and grows as the rep scrolls", async () => {
  const long = (await invoke("queue", QUEUE)).find((i) => i.subject.startsWith("Very long conversation"));
  assert.ok(long, "the demo has a long conversation");
  const want = await invoke("detail", { id: long.id });
  // The live queue can move rows between the scroll and the click (a new handoff lands
  // above): then the click opens a neighbour, and the rep clicks again.
  for (let tries = 1; ; tries++) {
    await clickRow(long.id);
    try {
      await browser.waitUntil(async () => (await browser.$("[data-testid=subject]").getText()) === long.subject, { timeout: 3_000 });
      break;
    } catch (e) {
      if (tries === 3) throw e;
    }
  }
  const drawn = () => browser.execute(() => document.querySelectorAll("[data-testid=message-body]").length);
  const total = want.messages.length;
  assert.ok(total >= 400, `the long conversation has ${total} messages`);
  assert.ok((await drawn()) > 0 && (await drawn()) <= 160, `opened with ${await drawn()} of ${total} drawn`);
  const handoffInView = await browser.execute(() => {
    const box = document.querySelector("[data-testid=transcript]").getBoundingClientRect();
    const at = document.querySelector("[data-handoff-point]")?.getBoundingClientRect();
    return !!at && at.bottom > box.top && at.top < box.bottom;
  });
  assert.ok(handoffInView, "the handoff point is on screen");
  await browser.saveScreenshot(`${shots}long-transcript.png`);

  // Scroll to the top again and again: earlier pages arrive, and what the rep was looking
  // at stays where it was on screen.
  const steps = await browser.execute(async () => {
    const t = document.querySelector("[data-testid=transcript]");
    const frames = async (n) => { for (let k = 0; k < n; k++) await new Promise((r) => requestAnimationFrame(r)); };
    const out = [];
    for (let k = 0; k < 200 && t.dataset.lo !== "0"; k++) {
      const first = t.querySelector("li.msg");
      const before = first.getBoundingClientRect().top;
      const lo = t.dataset.lo;
      t.scrollTop = 0;
      await frames(1);
      const atTop = first.getBoundingClientRect().top;
      for (let f = 0; f < 60 && t.dataset.lo === lo; f++) await frames(1);
      await frames(2);
      out.push({ lo: Number(t.dataset.lo), moved: Math.abs(first.getBoundingClientRect().top - atTop), before });
    }
    return out;
  });
  assert.ok(steps.length >= 2, `grew in ${steps.length} steps`);
  assert.equal(steps.at(-1).lo, 0, "reached the first message");
  for (const s of steps) assert.ok(s.moved <= 2, `the message on screen jumped ${s.moved}px when earlier ones were drawn`);
  const firstBody = await browser.execute(() => document.querySelector("[data-testid=message-body]").textContent);
  assert.equal(firstBody, want.messages[0].body);

  // Back at the newest message, a new one (a reply from the Agent Workspace) comes into view.
  await browser.execute(async () => {
    const t = document.querySelector("[data-testid=transcript]");
    for (let k = 0; k < 100 && (t.dataset.hi !== t.dataset.count || t.scrollHeight - t.scrollTop - t.clientHeight > 2); k++) {
      t.scrollTop = t.scrollHeight;
      await new Promise((r) => requestAnimationFrame(r));
    }
  });
  const { demo_url } = await invoke("app_info");
  const text = `Picking this up now (${Date.now()})`;
  const put = await fetch(`${demo_url}/api/v2/tickets/${long.external_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Basic ${btoa("alex@acme.test/token:sim-token")}` },
    body: JSON.stringify({ ticket: { comment: { body: text, public: true } } }),
  });
  assert.equal(put.status, 200);
  await browser.waitUntil(
    () =>
      browser.execute((text) => {
        const t = document.querySelector("[data-testid=transcript]");
        const bodies = [...t.querySelectorAll("[data-testid=message-body]")];
        const last = bodies.at(-1);
        if (last?.textContent !== text) return false;
        const a = last.getBoundingClientRect();
        const b = t.getBoundingClientRect();
        return a.bottom <= b.bottom + 1 && a.top >= b.top;
      }, text),
    { timeout: 10_000, timeoutMsg: "the new message did not come into view at the bottom" },
  );

  // The keyboard reads it too: Home, End, the handoff point, a page at a time.
  const view = () =>
    browser.execute(() => {
      const t = document.querySelector("[data-testid=transcript]");
      const box = t.getBoundingClientRect();
      const inView = (el) => { const r = el?.getBoundingClientRect(); return !!r && r.bottom > box.top && r.top < box.bottom; };
      const bodies = t.querySelectorAll("[data-testid=message-body]");
      return { lo: t.dataset.lo, hi: t.dataset.hi, count: t.dataset.count, top: t.scrollTop, first: inView(bodies[0]) && t.dataset.lo === "0", last: inView(bodies[bodies.length - 1]) && t.dataset.hi === t.dataset.count, handoff: inView(t.querySelector("[data-handoff-point]")) };
    });
  await browser.keys("Escape");
  await browser.keys("Home");
  await browser.waitUntil(async () => (await view()).first, { timeout: 3_000, timeoutMsg: "Home did not show the first message" });
  await browser.keys("End");
  await browser.waitUntil(async () => (await view()).last, { timeout: 3_000, timeoutMsg: "End did not show the newest message" });
  const atEnd = (await view()).top;
  await browser.keys("PageUp");
  await browser.waitUntil(async () => (await view()).top < atEnd, { timeout: 3_000, timeoutMsg: "PageUp did not scroll up" });
  await browser.keys("Home");
  await browser.waitUntil(async () => (await view()).first, { timeout: 3_000 });
  await browser.keys("h");
  await browser.waitUntil(async () => (await view()).handoff, { timeout: 3_000, timeoutMsg: "h did not return to the handoff point" });
});

test("a handoff the live simulator creates appears within 5 seconds", async () => {
  const { demo_url } = await invoke("app_info");
  const stats = async () => (await fetch(`${demo_url}/__sim/stats`)).json();
  const known = (await stats()).live_created.length;
  let created;
  await browser.waitUntil(async () => {
    const s = await stats();
    created = s.live_created[known];
    return created !== undefined;
  }, { timeout: 20_000, interval: 50, timeoutMsg: "the simulator created no handoff" });
  const [id, at] = created;
  const seen = async () => (await findRow(id)) !== null;
  await browser.waitUntil(seen, { timeout: Math.max(100, 5_000 - (Date.now() - at)), interval: 100, timeoutMsg: `ticket ${id} did not appear within 5 s of its creation` });
  const latency = Date.now() - at;
  assert.ok(latency <= 5_000, `appeared after ${latency} ms`);
  console.log(`live handoff ${id} appeared ${latency} ms after the simulator created it`);
});

test("a Salesforce handoff sits beside Zendesk's in the one queue; a session the customer ends leaves it, saying who ended it", async () => {
  const { demo_url } = await invoke("app_info");
  let items;
  await browser.waitUntil(async () => {
    items = await invoke("queue", QUEUE);
    return ["zendesk", "salesforce"].every((s) => items.some((i) => i.source === s));
  }, { timeout: 20_000, timeoutMsg: "the queue never held both vendors' handoffs" });
  // An open Salesforce handoff of the rep's, with its routing attributes.
  let sf, d;
  for (const i of items.filter((i) => i.source === "salesforce")) {
    const x = await invoke("detail", { id: i.id });
    if (x.routing_attributes.length > 0 && x.opencx_session_id) [sf, d] = [i, x];
    if (sf) break;
  }
  assert.ok(sf, "an open Salesforce handoff with routing attributes and an OpenCX session id");
  const row = () => findRow(sf.external_id, { click: true });
  assert.equal(await row(), "Salesforce", "the row carries its source");
  await browser.waitUntil(async () => (await browser.$("[data-testid=source]").getText()) === "Salesforce", { timeout: 5_000, timeoutMsg: "the card does not show the Salesforce session" });
  const shown = await browser.$("[data-testid=routing-attributes]").getText();
  for (const a of d.routing_attributes) assert.ok(shown.includes(a.value), `the card shows ${a.label}: ${a.value}`);
  // Read-only: reps answer in the Service Console, which the card opens.
  assert.match(await browser.$("[data-testid=read-only]").getText(), /answered in the Service Console/);
  assert.ok(await browser.$("button=Open in Service Console ↗").isExisting(), "the card links to the session in the Service Console");
  await browser.saveScreenshot(`${shots}salesforce.png`);
  // The customer ends it in the org: it leaves the live queue, and says who ended it.
  const r = await fetch(`${demo_url}/__sim/sf/end_session`, { method: "POST", body: JSON.stringify({ id: sf.external_id, by: "EndUser" }) });
  assert.equal(r.status, 204, await r.text());
  await browser.waitUntil(async () => !(await invoke("queue", QUEUE)).some((i) => i.id === sf.id), { timeout: 10_000, timeoutMsg: "the ended session is still in the live queue" });
  await browser.waitUntil(async () => (await row()) === null, { timeout: 5_000, timeoutMsg: "the ended session's row is still on screen" });
  const after = await invoke("detail", { id: sf.id });
  assert.equal(after.item.ended?.by, "end_user", JSON.stringify(after.item.ended));
  assert.equal(after.item.status, "closed");
  // The card the rep had open stays on it, and says so.
  await browser.waitUntil(async () => {
    const end = browser.$("[data-testid=session-end]");
    return (await browser.$("[data-testid=session-id]").getText()) === d.opencx_session_id && (await end.isExisting()) && /ended by the customer/.test(await end.getText());
  }, { timeout: 5_000, timeoutMsg: "the open card does not say the customer ended it" });
});

test("a phone handoff card says where the call went, what the caller asked for and the AI could not resolve, the call's length and who called", async () => {
  let items;
  await browser.waitUntil(async () => {
    items = await invoke("queue", QUEUE);
    return items.some((i) => i.source === "zendesk" && i.transfer_to) && items.some((i) => i.follow_up);
  }, { timeout: 20_000, timeoutMsg: "the queue holds no live transfer and no logged escalation" });
  // The queue row says where each call went.
  const escalation = items.find((i) => i.follow_up);
  await findRow(escalation.external_id);
  const escalationRoute = await browser.execute((id) => document.querySelector(`[data-external-id="${id}"] [data-testid=call-route]`)?.textContent, escalation.external_id);
  assert.equal(escalationRoute, `follow up by ${escalation.follow_up}`);
  // A live transfer whose summary gives the reason in both parts.
  let call, d;
  for (const i of items.filter((i) => i.source === "zendesk" && i.transfer_to)) {
    [call, d] = [i, await invoke("detail", { id: i.id })];
    if (d.handoff.details.unresolved) break;
  }
  await findRow(call.external_id, { click: true });
  await browser.waitUntil(async () => (await browser.$("[data-testid=subject]").getText()) === call.subject, { timeout: 5_000, timeoutMsg: "the call's card did not open" });
  const details = d.handoff.details;
  assert.equal(await browser.$("[data-testid=handoff-route]").getText(), `→ ${call.transfer_to}`);
  assert.equal(await browser.$("[data-testid=asked-for]").getText(), details.asked_for);
  if (details.unresolved) assert.equal(await browser.$("[data-testid=unresolved]").getText(), details.unresolved);
  const m = Math.floor(details.call_seconds / 60), sec = details.call_seconds % 60;
  assert.match(await browser.$("[data-testid=call-length]").getText(), new RegExp(`call (\\d+:)?${String(m % 60).padStart(2, "0")}:${String(sec).padStart(2, "0")}`));
  const caller = await browser.$("[data-testid=caller]").getText();
  assert.match(caller, d.caller.known ? /^Known caller: / : /^New caller: /);
  assert.ok(caller.includes(d.caller.name), caller);
  assert.match(await browser.$("[data-testid=opencx-session]").getText(), /View session in OpenCX \(recording\)/);
  // Each turn at its offset in the call.
  assert.match(await browser.$("[data-testid=transcript] time").getText(), /^\+\d\d:\d\d$/);
  await browser.saveScreenshot(`${shots}phone.png`);
});

test("a Zendesk messaging session the customer ends leaves the live queue; its card says they are back with the bot, and the ticket stays findable", async () => {
  const { demo_url } = await invoke("app_info");
  const items = await invoke("queue", QUEUE);
  const web = items.find((i) => i.source === "zendesk" && i.channel === "web" && i.handoff_mode === "live_chat" && !i.ended);
  assert.ok(web, "an open web handoff");
  await findRow(web.external_id, { click: true });
  await browser.waitUntil(async () => (await browser.$("[data-testid=subject]").getText()) === web.subject, { timeout: 5_000, timeoutMsg: "the web handoff's card did not open" });
  assert.ok(await browser.$("[data-testid=session-live]").isExisting(), "a live session says so");
  const r = await fetch(`${demo_url}/__sim/zd/end_session`, { method: "POST", body: JSON.stringify({ ticket: Number(web.external_id), by: "end_user" }) });
  assert.equal(r.status, 204, await r.text());
  await browser.waitUntil(async () => !(await invoke("queue", QUEUE)).some((i) => i.id === web.id), { timeout: 15_000, timeoutMsg: "the ended session is still in the live queue" });
  await browser.waitUntil(async () => (await findRow(web.external_id)) === null, { timeout: 5_000, timeoutMsg: "the ended session's row is still on screen" });
  // The open card says who ended it, that the customer is back with the bot, and what is left.
  await browser.waitUntil(async () => {
    const end = browser.$("[data-testid=session-end]");
    return (await end.isExisting()) && /ended by the customer/.test(await end.getText());
  }, { timeout: 5_000, timeoutMsg: "the open card does not say the customer ended it" });
  assert.equal(await browser.$("[data-testid=after-session-end]").getText(), "The customer is back with the bot. The ticket stays open: follow up by email.");
  const done = await invoke("queue", { filter: { include_done: true } });
  const kept = done.find((i) => i.id === web.id);
  assert.ok(kept, "the ticket is findable with the done ones");
  assert.equal(kept.ended.by, "end_user");
  assert.notEqual(kept.status, "closed");
});

test("the handoff review: a bar or a count lists the handoffs behind it; one is read, marked avoidable and opened, and the export holds the mark", async () => {
  // From the header, as a lead would (v from the queue does the same).
  await browser.$("[data-testid=open-review]").click();
  await browser.$("[data-testid=review]").waitForExist({ timeout: 5_000 });
  const cell = browser.$("[data-testid=count-cell]");
  await cell.waitForExist({ timeout: 10_000, timeoutMsg: "the review shows no count" });
  assert.ok(await browser.$("[data-testid=trend-chart] canvas").isExisting(), "the trend is drawn");
  assert.ok((await browser.$$("[data-testid=legend-item]")).length > 0, "the trend has a category legend");
  assert.match(await browser.$("[data-testid=headline]").getText(), /of \d+ conversations handed off to a human \((\d+%|<1%|>99%)\)/);

  // A bar of the trend, clicked where the chart drew it (found by its category's colour):
  // the handoffs of that category in that day or week.
  const bar = await browser.execute(async () => {
    const canvas = document.querySelector("[data-testid=trend-chart] canvas");
    canvas.scrollIntoView({ block: "center" });
    await new Promise((r) => requestAnimationFrame(r));
    const css = getComputedStyle(document.documentElement);
    const colours = ["asked_for_human", "no_answer", "policy_or_account", "upset", "technical", "other", "uncategorised"]
      .map((c) => css.getPropertyValue(`--cat-${c}`).trim().match(/^#(..)(..)(..)$/).slice(1).map((h) => parseInt(h, 16)));
    const { width, height } = canvas;
    const px = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const box = canvas.getBoundingClientRect();
    const coloured = (x, y) => {
      const i = (y * width + x) * 4;
      return colours.some((c) => c.every((v, k) => Math.abs(v - px[i + k]) <= 6));
    };
    // The middle of a run of a bar's colour, so the click lands inside the bar, not on
    // its anti-aliased edge (a month of days makes thin bars).
    for (let y = Math.floor(height * 0.9); y > 0; y -= 2)
      for (let x = 0; x < width; x += 1) {
        if (!coloured(x, y)) continue;
        let end = x;
        while (end + 1 < width && coloured(end + 1, y)) end += 1;
        if (end - x >= 3) {
          const mid = (x + end) / 2;
          return { x: Math.round(box.left + (mid * box.width) / width), y: Math.round(box.top + (y * box.height) / height) };
        }
        x = end;
      }
    return null;
  });
  assert.ok(bar, "the trend chart drew a bar");
  await browser.action("pointer").move({ x: bar.x, y: bar.y, origin: "viewport" }).down().up().perform();
  await browser.waitUntil(async () => (await browser.$$("[data-testid=handoff-row]")).length > 0, { timeout: 5_000, timeoutMsg: "the clicked bar lists no handoff" });
  assert.match(await browser.$("#list-title").getText(), /· (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ [A-Z][a-z]{2} · \d+$/, "the list names the bar's category and day");

  // The same bars from the keyboard: the trend as a table, a bar's count activated with Enter.
  await browser.$("[data-testid=trend-table] summary").click();
  const tableBar = browser.$("[data-testid=trend-table] button");
  await tableBar.waitForDisplayed({ timeout: 2_000, timeoutMsg: "the trend table has no bar to activate" });
  const barCount = Number(await tableBar.getText());
  await browser.execute(() => document.querySelector("[data-testid=trend-table] button").focus());
  await browser.keys("Enter");
  await browser.waitUntil(async () => (await browser.$$("[data-testid=handoff-row]")).length === Math.min(barCount, 500), { timeout: 5_000, timeoutMsg: `the table's bar (${barCount}) did not list its handoffs` });

  // A count: the list below holds exactly the handoffs it counts.
  const counted = Number(await cell.getText());
  assert.ok(counted > 0, `a count cell holds a count: ${counted}`);
  await cell.click();
  await browser.waitUntil(async () => (await browser.$$("[data-testid=handoff-row]")).length === Math.min(counted, 500), { timeout: 5_000, timeoutMsg: "the list never held as many handoffs as the clicked count said" });

  // The first one: its transcript in place, then marked avoidable with a note.
  const row = browser.$("[data-testid=handoff-row]");
  const id = Number(await row.getAttribute("data-id"));
  const detail = await invoke("detail", { id });
  await row.$("[data-testid=read-transcript]").click();
  await browser.$("[data-testid=review-transcript] .msg").waitForExist({ timeout: 5_000, timeoutMsg: "the transcript did not open in the review" });
  await row.$("[data-testid=mark-avoidable]").click();
  await browser.waitUntil(async () => (await row.$("[data-testid=mark-avoidable]").getAttribute("aria-pressed")) === "true", { timeout: 5_000, timeoutMsg: "the mark is not shown" });
  const marks = await invoke("review_handoffs", { filter: { since: 0, until: Date.now() + 86_400_000, verdict: "avoidable" } });
  assert.ok(marks.some((h) => h.conversation_id === id && h.verdict === "avoidable"), "the backend holds the mark");

  // The export of the list, as the page saves it (the download intercepted: its name and content).
  await browser.execute(() => {
    window.__saved = [];
    const create = URL.createObjectURL;
    window.__restoreDownloads = () => {
      URL.createObjectURL = create;
      delete HTMLAnchorElement.prototype.click;
    };
    const texts = new Map();
    URL.createObjectURL = (blob) => {
      const url = create.call(URL, blob);
      texts.set(url, blob.text());
      return url;
    };
    // An own click on the prototype, over the inherited HTMLElement.prototype.click.
    HTMLAnchorElement.prototype.click = function () {
      if (this.download) void texts.get(this.href)?.then((text) => window.__saved.push({ name: this.download, text }));
      else HTMLElement.prototype.click.call(this);
    };
  });
  try {
    await browser.$("[data-testid=export-json]").click();
    await browser.waitUntil(async () => (await browser.execute(() => window.__saved.length)) > 0, { timeout: 5_000, timeoutMsg: "no export was saved" });
    const [saved] = await browser.execute(() => window.__saved);
    assert.match(saved.name, /^baton-handoffs-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.json$/);
    const exported = JSON.parse(saved.text);
    const list = Array.isArray(exported) ? exported : exported.handoffs ?? exported.rows;
    assert.equal(list.find((h) => h.conversation_id === id)?.verdict, "avoidable", "the exported list holds the mark");
    assert.match(await browser.$("[data-testid=review-said]").getText(), /Exported baton-handoffs-/);
  } finally {
    await browser.execute(() => window.__restoreDownloads());
  }
  // The backend's CSV of the marked handoffs holds it too.
  const csv = await invoke("export_handoffs", { filter: { since: 0, until: Date.now() + 86_400_000, verdict: "avoidable" }, format: "csv" });
  assert.ok(csv.split("\n").some((l) => l.startsWith(`${id},`) && l.includes(",avoidable,")), `the CSV export holds the mark:\n${csv.slice(0, 500)}`);

  const violations = await accessibilityViolations();
  assert.deepEqual(violations, [], `review:\n${violations.join("\n")}`);
  await browser.saveScreenshot(`${shots}review.png`);

  // Open it: the review closes on the conversation, open in the main view.
  await row.$("[data-testid=open-handoff]").click();
  await browser.waitUntil(async () => !(await browser.$("[data-testid=review]").isExisting()), { timeout: 2_000, timeoutMsg: "the review stayed open" });
  await browser.waitUntil(async () => (await browser.$("[data-testid=detail] .num").isExisting()) && (await browser.$("[data-testid=detail] .num").getText()) === `#${detail.item.external_id}`, { timeout: 5_000, timeoutMsg: "the conversation did not open" });
  // v brings the review back where the lead left it, the mark shown; Esc closes it.
  await browser.keys("v");
  const again = browser.$(`[data-testid=handoff-row][data-id="${id}"] [data-testid=mark-avoidable]`);
  await again.waitForExist({ timeout: 5_000, timeoutMsg: "the review did not come back to its list" });
  assert.equal(await again.getAttribute("aria-pressed"), "true");
  await browser.keys("Escape");
  await browser.waitUntil(async () => !(await browser.$("[data-testid=review]").isExisting()), { timeout: 2_000, timeoutMsg: "Esc did not close the review" });
  await invoke("unmark_handoff", { conversationId: id });
});

/** What a notification announces: how many arrivals it counts, and the ones it names
 * ("who: why", as the app words them; the first three when there are more). */
function announced(note) {
  const one = note.summary.match(/^New handoff: (.*)$/s);
  if (one) return { count: 1, lines: [`${one[1]}: ${note.body}`] };
  const many = note.summary.match(/^(\d+) new handoffs$/);
  assert.ok(many, `a notification Baton sends: ${JSON.stringify(note)}`);
  return { count: Number(many[1]), lines: note.body.split("\n") };
}
/** How a notification names a conversation. */
const line = (i) => `${i.requester_name ?? i.subject}: ${i.reason ?? i.subject}`;

test("new handoffs in my queue are announced, each once, and nothing else; clicking the notification opens the one it names", async () => {
  // The desktop's notification server, played by a script on this D-Bus session.
  const server = spawn("/usr/bin/python3", [new URL("./notification-server.py", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const received = [];
  createInterface({ input: server.stdout }).on("line", (l) => received.push({ ...JSON.parse(l), at: Date.now() }));
  try {
    await browser.waitUntil(async () => received.some((x) => x.ready), { timeout: 10_000, timeoutMsg: "the notification server did not start" });
    await browser.keys("Escape");
    await clickTopRow();
    const before = await selectedId();
    // What the cache holds now is not news. The app may still be announcing what
    // arrived just before (it waits 400 ms for a sync's burst): skip that moment.
    // (News is a handoff entering my queue: a new one, or one routed to me or my groups,
    // as Salesforce's Omni-Channel does with waiting sessions.)
    const mine = (i) => i.is_handoff && ["mine", "my_groups"].includes(i.scope);
    const known = new Set((await invoke("queue", QUEUE)).filter(mine).map((i) => i.id));
    await browser.pause(1_500);
    const skipped = received.length;
    const notes = () => received.slice(skipped).filter((x) => x.id !== undefined);
    // What arrives meanwhile, as the queue showed it: a handoff may also leave the live
    // queue again before the end (a Salesforce session the customer ends at once).
    const seen = new Map();
    const look = async () => {
      for (const i of await invoke("queue", QUEUE)) if (mine(i) && !known.has(i.id)) seen.set(i.id, i);
    };
    // Two arrivals: the second replaces the first on screen rather than piling up.
    await browser.waitUntil(async () => (await look(), notes().length >= 2), {
      timeout: 60_000,
      interval: 100,
      timeoutMsg: `fewer than two notifications for new handoffs; received: ${JSON.stringify(received)}`,
    });
    const [first, second] = notes();
    assert.equal(first.app, "Baton");
    assert.ok(first.actions.includes("default"), "the notification can be clicked");
    assert.equal(second.replaces, first.id, "the second replaced the first");

    // Everything announced is a handoff that arrived in my scope (mine, or unassigned in
    // my groups), and the counts add up to no more than those arrivals: none announced
    // twice, none from outside my queue, no draft counted as a handoff.
    // (The notes first: whatever they announce was in the cache before they were sent.)
    const shown = notes();
    await look();
    const arrived = [...seen.values()];
    const mineNew = arrived.filter((i) => i.is_handoff && ["mine", "my_groups"].includes(i.scope));
    let counted = 0;
    for (const note of shown) {
      const { count, lines } = announced(note);
      assert.ok(count >= 1, JSON.stringify(note));
      assert.equal(lines.length, Math.min(count, 3), `names the first three of what it counts: ${JSON.stringify(note)}`);
      for (const l of lines) {
        assert.ok(mineNew.some((i) => line(i) === l), `announced "${l}", which is not a new handoff in my queue; new: ${JSON.stringify(arrived.map((i) => [i.scope, i.is_handoff, line(i)]))}`);
      }
      counted += count;
    }
    assert.ok(counted <= mineNew.length, `${counted} announced, ${mineNew.length} new handoffs arrived in my queue`);

    const clickedAt = Date.now();
    server.stdin.write(`click ${first.id}\n`);
    // The list scrolls to the selection (a virtual list draws the row once it is in view).
    await browser.waitUntil(async () => ![null, before].includes(await selectedId()), { timeout: 5_000, timeoutMsg: "the click selected nothing new" });
    const d = await invoke("detail", { id: Number(await selectedId()) });
    // What the notification said when it was clicked (replaced in place): the first it names.
    const onScreen = received.filter((x) => x.id === first.id && x.at <= clickedAt).at(-1);
    assert.equal(line(d.item), announced(onScreen).lines[0], `opened what the notification named first: ${JSON.stringify(onScreen)}`);
    assert.ok(mineNew.some((i) => i.id === d.item.id), "it is one of the new handoffs in my queue");
    await browser.waitUntil(async () => (await browser.$("[data-testid=subject]").getText()) === d.item.subject, { timeout: 5_000, timeoutMsg: "the window does not show it" });
  } finally {
    server.kill();
  }
});

test("the status chip says in words when Zendesk rate-limits or cannot be reached, and when it is back", async () => {
  const { demo_url } = await invoke("app_info");
  const faults = (f) => fetch(`${demo_url}/__sim/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(f) });
  const chip = browser.$("[data-testid=status-chip]");
  const shows = (state, words) => browser.waitUntil(
    async () => (await chip.getAttribute("data-state")) === state && (await chip.getText()).includes(words),
    { timeout: 30_000, interval: 100, timeoutMsg: `the chip never said ${state}: "${words}"` },
  );
  try {
    assert.equal((await faults({ rate_limits: 1000, rate_limit_secs: 6 })).status, 204);
    await shows("rate_limited", "rate-limited by Zendesk, retrying in");
    chipSaid.rate_limited = await chipWords();
    const secs = Number((await chip.getText()).match(/retrying in (\d+) s/)[1]);
    assert.ok(secs > 0 && secs <= 6, `counts down from Retry-After: ${secs} s`);
    await browser.saveScreenshot(`${shots}status-rate-limited.png`);
    await faults({ down: true });
    await shows("unreachable", "can't reach Zendesk: check your connection");
    chipSaid.unreachable = await chipWords();
    await browser.saveScreenshot(`${shots}status-offline.png`);
  } finally {
    await faults({});
  }
  await shows("synced", "synced");
  // The demo cannot reject its own token: the rejected one is driven on the real account
  // below ("a token Zendesk no longer accepts").
  assert.notEqual(chipSaid.rate_limited.replace(/\d+ s/, "N s"), chipSaid.unreachable, "a rate limit and an outage are worded differently");
});

test("a transcript message carrying HTML or script shows as text and runs nothing", async () => {
  await browser.keys("/");
  assert.equal(await browser.execute(() => document.activeElement?.dataset.testid), "search");
  await browser.keys([..."pwned"]);
  await browser.$("[data-testid=search-results] button").waitForExist({ timeout: 5_000 });
  await browser.$("[data-testid=search-results] button").click();
  await browser.waitUntil(async () => {
    const texts = await browser.execute(() => [...document.querySelectorAll("[data-testid=message-body]")].map((e) => e.textContent));
    return texts.some((t) => t.includes("<script>alert('pwned')</script>"));
  }, { timeout: 5_000, timeoutMsg: "the script payload is not shown literally" });
  const injected = await browser.execute(() => document.querySelectorAll("[data-testid=detail] script, [data-testid=detail] img, [data-testid=detail] [onerror]").length);
  assert.equal(injected, 0, "no element was made from the payload");
  await assert.rejects(browser.getAlertText(), "no alert opened");
  await browser.saveScreenshot(`${shots}script-payload.png`);
});

test("the shortcuts work: j/k, ?, Esc, /", async () => {
  await browser.keys("Escape"); // leave any text field
  await clickTopRow();
  const first = await selectedId();
  await browser.keys("j");
  const second = await selectedId();
  assert.notEqual(second, first);
  await browser.keys("k");
  assert.equal(await selectedId(), first);
  await browser.keys("?");
  await browser.$("[data-testid=help]").waitForExist({ timeout: 2_000 });
  await browser.saveScreenshot(`${shots}help.png`);
  await browser.keys("Escape");
  await browser.$("[data-testid=help]").waitForExist({ reverse: true, timeout: 2_000 });
  await browser.keys("/");
  assert.equal(await browser.execute(() => document.activeElement?.dataset.testid), "search");
  await browser.keys("Escape");
  assert.notEqual(await browser.execute(() => document.activeElement?.dataset.testid), "search");
});

test("a second launch brings the running window forward and exits, leaving one app", async () => {
  const first = appPids();
  assert.equal(first.length, 1, `one app running: ${JSON.stringify(first)}`);
  // Another application's window over Baton's: the rep launches Baton again to get it back.
  const cover = spawn("/usr/bin/python3", [new URL("./cover-window.py", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const seen = [];
  createInterface({ input: cover.stdout }).on("line", (l) => seen.push(JSON.parse(l)));
  const coverIs = () => seen.filter((x) => x.visibility).at(-1)?.visibility;
  try {
    await browser.waitUntil(async () => seen.some((x) => x.mapped) && coverIs() === "unobscured", {
      timeout: 10_000,
      timeoutMsg: `the other window did not open on top: ${JSON.stringify(seen)}`,
    });
    const second = spawnSync(process.env.BATON_APP, { timeout: 15_000, env: process.env });
    assert.equal(second.error, undefined, "the second instance exited by itself");
    assert.equal(second.status, 0);
    // Baton's window now covers part of the other one: it was raised.
    await browser.waitUntil(async () => ["partial", "obscured"].includes(coverIs()), {
      timeout: 5_000,
      timeoutMsg: `the running window was not brought forward: ${JSON.stringify(seen)}`,
    });
  } finally {
    cover.stdin.end();
    cover.kill();
  }
  assert.deepEqual(appPids(), first, "exactly the first app is left running");
  assert.ok(await browser.$("[data-testid=queue-row]").isExisting(), "and its window still works");
});

test("adding an account: a rejected token, an outage and a rate limit each come back as their own kind, worded as what to do", async () => {
  const sim = process.env.BATON_E2E_SIM_URL;
  await browser.keys("Escape");
  await browser.$("[data-testid=open-settings]").click();
  await browser.$("[data-testid=settings]").waitForExist({ timeout: 2_000 });
  // Looked up afresh each time: the form redraws it on every answer.
  const kindShown = () => browser.execute(() => document.querySelector("[data-testid=settings-message]")?.dataset.kind ?? null);
  /** Submits the form and waits for the refusal of this kind: its words. */
  const refused = async (token, kind, timeout) => {
    await fillAccountForm(token);
    await browser.waitUntil(async () => (await kindShown()) === kind, {
      timeout,
      interval: 200,
      timeoutMsg: `no ${kind} refusal; the form says: "${await settingsMessage()}"`,
    });
    assert.equal(await browser.$("input[name=token]").getValue(), "", "the token does not linger in the form");
    return settingsMessage();
  };
  const said = {};
  try {
    // Wrong secrets carry the canaries too: a refused secret is not kept anywhere either.
    said.auth = await refused(`${TOKEN}-wrong`, "auth", 10_000);
    // The right token, but Zendesk is down (tried a few times, then given up).
    await simFaults(sim, { down: true });
    said.unreachable = await refused(TOKEN, "unreachable", 60_000);
    // The right token, but Zendesk asks to wait half a minute: the rep is told at once,
    // not left at a form that sleeps out Retry-After.
    await simFaults(sim, { rate_limits: 1000, rate_limit_secs: 30 });
    said.rate_limited = await refused(TOKEN, "rate_limited", 10_000);
  } finally {
    await simFaults(sim, {});
  }
  await browser.saveScreenshot(`${shots}settings-rate-limited.png`);
  assert.deepEqual(said, {
    auth: "Zendesk rejected the token: check it and paste it again.",
    unreachable: `Can't reach ${new URL(sim).host}: check your connection.`,
    rate_limited: "Zendesk asks to wait: try again in a minute.",
  });
  assert.equal((await invoke("accounts")).length, 0, "nothing kept");
  // The backend's own words stay at hand for whoever asks (a tooltip).
  assert.match(await browser.$("[data-testid=settings-message]").getAttribute("title"), /rate-limiting/);
});

test("accounts: a wrong key is refused; a right one leaves the demo; test and remove work", async () => {
  const fill = fillAccountForm;
  if (!(await browser.$("[data-testid=settings]").isExisting())) {
    await browser.keys("Escape");
    await browser.$("[data-testid=open-settings]").click();
    await browser.$("[data-testid=settings]").waitForExist({ timeout: 2_000 });
  }
  await fill(TOKEN, `${SUNCO_SECRET}-wrong`);
  await browser.waitUntil(async () => (await settingsMessage()).includes("Sunshine Conversations"), { timeout: 10_000, timeoutMsg: "a wrong Sunshine Conversations key was not refused" });
  assert.equal(await browser.$("input[name=sunco_secret]").getValue(), "", "the key secret does not linger in the form");
  assert.equal((await invoke("accounts")).length, 0, "nothing kept");

  await fill(TOKEN, SUNCO_SECRET);
  await browser.waitUntil(async () => (await settingsMessage()).includes("Connected e2e"), { timeout: 15_000, timeoutMsg: "the account was not added" });
  await browser.saveScreenshot(`${shots}settings.png`);
  await browser.keys("Escape");
  await browser.$("[data-testid=demo-banner]").waitForExist({ reverse: true, timeout: 5_000 });
  await browser.waitUntil(
    async () => (await browser.$("[data-testid=status-chip]").getAttribute("data-state")) === "synced" && (await browser.$("[data-testid=status-chip]").getText()).includes("e2e"),
    { timeout: 20_000, timeoutMsg: "the new account never synced" },
  );
  const info = await invoke("app_info");
  assert.equal(info.demo, false);
  assert.ok((await invoke("queue", QUEUE)).every((i) => i.account_id === "e2e"), "the queue is the account's now");
  const listed = JSON.stringify(await invoke("accounts"));
  assert.ok(!listed.includes(TOKEN) && !listed.includes(SUNCO_SECRET), "the secrets never come back out");

});


test("an edited draft survives a crash (SIGKILL), then goes to the customer exactly once", async () => {
  const items = await invoke("queue", QUEUE);
  const drafted = items.find((i) => i.has_pending_draft);
  assert.ok(drafted, "the account has a conversation with a draft");
  const select = async () => {
    await clickRow(drafted.id);
    await browser.$("[data-testid=draft-panel]").waitForExist({ timeout: 5_000 });
  };
  await select();
  await browser.$("[data-testid=draft-text]").waitForExist({ timeout: 5_000 });
  await browser.keys("e");
  const editor = browser.$("[data-testid=draft-editor]");
  await editor.waitForExist({ timeout: 5_000 });
  const mine = `Thanks for waiting! (edited in the e2e test ${Date.now()})`;
  await editor.setValue(mine);
  await browser.pause(700); // the autosave runs while typing; give it its moment
  await browser.saveScreenshot(`${shots}draft-editing.png`);

  // Kill the app, and open it again.
  await crash();
  await launch();
  await select();
  const restored = browser.$("[data-testid=draft-editor]");
  await restored.waitForExist({ timeout: 5_000, timeoutMsg: "the edit did not come back" });
  assert.equal(await restored.getValue(), mine);

  await restored.click();
  await browser.keys(["Control", "Enter"]);
  try {
    await browser.waitUntil(
      async () => (await browser.$("[data-testid=reply-state]").isExisting()) && (await browser.$("[data-testid=reply-state]").getAttribute("data-state")) === "sent",
      { timeout: 10_000 },
    );
  } catch {
    const replies = await invoke("replies", { accountId: drafted.account_id, externalId: drafted.external_id }).catch((e) => e);
    assert.fail(`the reply did not show as sent; the panel says: ${await browser.$("[data-testid=draft-panel]").getText()}; replies: ${JSON.stringify(replies)}`);
  }
  await browser.saveScreenshot(`${shots}draft-sent.png`);
  const stats = await (await fetch(`${process.env.BATON_E2E_SIM_URL}/__sim/stats`)).json();
  const posts = stats.ticket_updates.filter((u) => u.ticket?.comment?.body === mine);
  assert.equal(posts.length, 1, "the simulator received it once");
  assert.equal(posts[0].ticket.comment.public, true);

  // The lead's view of it: one draft, edited.
  await browser.keys("Escape");
  await browser.keys("R");
  const row = browser.$("[data-testid=report-row]");
  await row.waitForExist({ timeout: 5_000, timeoutMsg: "the drafts report shows nothing" });
  const text = await row.getText();
  // The rep by their login until their reply is read back from Zendesk, then by the name
  // Zendesk gives its author (as drafts answered in the helpdesk are).
  assert.ok(/alex@acme\.test|Alex Rivera/.test(text) && text.includes("100%"), text);
  await browser.saveScreenshot(`${shots}report.png`);
  await browser.keys("Escape");
});

test("\"don't send\": a reply stopped because the ticket changed, cancelled by the rep, never reaches Zendesk", async () => {
  const sim = process.env.BATON_E2E_SIM_URL;
  const drafted = (await invoke("queue", QUEUE)).find((i) => i.has_pending_draft);
  assert.ok(drafted, "the account has another conversation with a draft");
  await clickRow(drafted.id);
  await browser.$("[data-testid=draft-text]").waitForExist({ timeout: 5_000 });
  await browser.keys("e");
  const editor = browser.$("[data-testid=draft-editor]");
  await editor.waitForExist({ timeout: 5_000 });
  const mine = `Never send this (cancelled in the e2e test ${Date.now()})`;
  await editor.setValue(mine);
  // A colleague answers on the ticket while the rep types: the ticket changed.
  const put = await fetch(`${sim}/api/v2/tickets/${drafted.external_id}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Basic ${btoa(`alex@acme.test/token:${TOKEN}`)}` },
    body: JSON.stringify({ ticket: { comment: { body: `A colleague's answer (${Date.now()})`, public: true } } }),
  });
  assert.equal(put.status, 200);
  await editor.click();
  await browser.keys(["Control", "Enter"]);
  const state = async () => browser.execute(() => [...document.querySelectorAll("[data-testid=reply-state]")].map((e) => e.dataset.state));
  await browser.waitUntil(async () => (await state()).includes("conflict"), {
    timeout: 10_000,
    timeoutMsg: `the reply was not stopped as a conflict; the panel says: ${await browser.$("[data-testid=draft-panel]").getText()}`,
  });
  // The refused attempt reached the simulator (answered 409, nothing posted); from here
  // on nothing more of it may.
  const attempts = async () => (await (await fetch(`${sim}/__sim/stats`)).json()).ticket_updates.filter((u) => JSON.stringify(u).includes(mine)).length;
  const refused = await attempts();
  await browser.$("[data-testid=reply-state][data-state=conflict]").$("button=Don't send").click();
  await browser.waitUntil(async () => (await state()).includes("cancelled"), { timeout: 5_000, timeoutMsg: "the reply does not show as cancelled" });
  // Several delivery ticks (every 3 s) and a sync later, it has still not gone out.
  await browser.pause(12_000);
  const replies = await invoke("replies", { accountId: drafted.account_id, externalId: drafted.external_id });
  assert.ok(replies.some((r) => r.state === "cancelled"), JSON.stringify(replies));
  assert.ok(replies.every((r) => r.state !== "sent" && r.state !== "sending"), JSON.stringify(replies));
  assert.equal(await attempts(), refused, "the cancelled reply was not sent again");
  const comments = await (await fetch(`${sim}/api/v2/tickets/${drafted.external_id}/comments?page[size]=100`, { headers: { authorization: `Basic ${btoa(`alex@acme.test/token:${TOKEN}`)}` } })).json();
  assert.ok(comments.comments.length > 0 && !comments.meta.has_more, "the ticket's comments were all read");
  assert.ok(!comments.comments.some((c) => (c.body ?? "").includes(mine) || (c.plain_body ?? "").includes(mine)), "the customer never got it");
  await browser.keys("Escape");
});

test("at 900×700 nothing overflows; after a crash (SIGKILL) the window comes back where the rep left it, at that size", async () => {
  // The smallest window UX.md asks Baton to be readable in, beside the Agent Workspace.
  const want = { x: 40, y: 30, width: 900, height: 700 };
  await browser.setWindowRect(want.x, want.y, want.width, want.height);
  await browser.waitUntil(async () => {
    const r = await browser.getWindowRect();
    return r.width === want.width && r.height === want.height;
  }, { timeout: 5_000, timeoutMsg: "the window did not take the new size" });
  const set = await browser.getWindowRect();
  await clickTopRow();
  await browser.$("[data-testid=detail]").waitForExist({ timeout: 5_000 });
  const layout = await browser.execute(() => {
    const seen = (sel) => {
      const r = document.querySelector(sel)?.getBoundingClientRect();
      return !!r && r.width > 0 && r.height > 0 && r.right <= window.innerWidth + 1 && r.bottom <= window.innerHeight + 1;
    };
    return {
      overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      overflowY: document.documentElement.scrollHeight - document.documentElement.clientHeight,
      queue: seen("[data-testid=queue]"),
      detail: seen("[data-testid=subject]"),
      draft: seen("[data-testid=draft-panel]"),
      status: seen("[data-testid=status-chip]"),
    };
  });
  await browser.saveScreenshot(`${shots}narrow-900x700.png`);
  assert.deepEqual(layout, { overflowX: 0, overflowY: 0, queue: true, detail: true, draft: true, status: true });

  // The leads' review at the same size: within the window, its headline and counts readable.
  await browser.keys("v");
  await browser.$("[data-testid=headline]").waitForExist({ timeout: 5_000, timeoutMsg: "the review did not open at 900×700" });
  const review = await browser.execute(() => {
    const within = (sel) => {
      const r = document.querySelector(sel)?.getBoundingClientRect();
      return !!r && r.width > 0 && r.left >= 0 && r.right <= window.innerWidth + 1;
    };
    return {
      overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      box: within("[data-testid=review] .box"),
      headline: within("[data-testid=headline]"),
      period: within("[data-testid=period]"),
    };
  });
  await browser.saveScreenshot(`${shots}review-900x700.png`);
  await browser.keys("Escape");
  assert.deepEqual(review, { overflowX: 0, box: true, headline: true, period: true });
  await browser.$("[data-testid=review]").waitForExist({ reverse: true, timeout: 2_000, timeoutMsg: "Esc did not close the review" });
  await browser.pause(1_000); // saved once the move settles
  await crash();
  await launch();
  const back = await browser.getWindowRect();
  assert.deepEqual(back, set);
});

test("the account's secrets are in no file the app wrote: database and -wal, logs, config", async () => {
  // After syncs, a reply sent, two crashes and wrong secrets typed: the app is running
  // (its -wal is not checkpointed away).
  assertNoSecretOnDisk("with the account in use");
});

test("a token Zendesk no longer accepts: the chip says so in its own words, and changing the token brings the account back", async () => {
  // The token in the keychain stops working, as when an admin revokes it; the app finds
  // out on its next start.
  const set = spawnSync("/usr/bin/python3", [new URL("./set-keychain-secret.py", import.meta.url).pathname, "baton", "zendesk:e2e", "-"], {
    input: `${TOKEN}-revoked`,
    encoding: "utf8",
  });
  assert.equal(set.status, 0, set.stderr);
  assert.equal(set.stdout.trim(), "1", "the account's token was in the keychain");
  await crash();
  await launch();
  const chip = browser.$("[data-testid=status-chip]");
  await browser.waitUntil(async () => (await chip.getAttribute("data-state")) === "auth_failed", {
    timeout: 30_000,
    timeoutMsg: `the chip never said the token was rejected: "${await chip.getText()}"`,
  });
  chipSaid.auth_failed = await chipWords();
  assert.equal(chipSaid.auth_failed, "Zendesk rejected the token: change it in ⚙ Accounts");
  await browser.saveScreenshot(`${shots}status-auth-failed.png`);
  // Three failures, three ways of saying them (the countdown aside).
  const words = ["auth_failed", "unreachable", "rate_limited"].map((k) => chipSaid[k]?.replace(/\d+ s/, "N s"));
  assert.equal(new Set(words).size, 3, JSON.stringify(chipSaid));

  // The rep pastes the right token again.
  await browser.$("[data-testid=open-settings]").click();
  const account = browser.$("[data-testid=account][data-id=e2e]");
  await account.waitForExist({ timeout: 5_000 });
  await account.$("button=Change token").click();
  await browser.$("input[name=new_token]").setValue(TOKEN);
  await browser.$("form.credentials button[type=submit]").click();
  await browser.waitUntil(async () => (await settingsMessage()).includes("Updated e2e"), { timeout: 15_000, timeoutMsg: `the token was not replaced: "${await settingsMessage()}"` });
  await browser.keys("Escape");
  await browser.waitUntil(async () => (await chip.getAttribute("data-state")) === "synced", { timeout: 30_000, timeoutMsg: `the account did not sync again: "${await chip.getText()}"` });
});

test("accounts: test and remove return to the demo", async () => {
  await browser.$("[data-testid=open-settings]").click();
  await browser.$("[data-testid=account] button").waitForExist({ timeout: 5_000 });
  await browser.$("[data-testid=account]").$("button=Test").click();
  await browser.waitUntil(async () => (await settingsMessage()).includes("Alex Rivera"), { timeout: 10_000, timeoutMsg: "test gave no answer" });
  // With unsent replies or saved edits (a conflict the rep cancelled can leave its edit),
  // removing asks first; the rep confirms, having seen what goes.
  const unsent = await invoke("account_unsent", { id: "e2e" });
  await browser.$("[data-testid=account]").$("button=Remove").click();
  if (unsent.replies.length + unsent.edits.length > 0) {
    const confirm = browser.$("[data-testid=remove-confirm]");
    await confirm.waitForExist({ timeout: 5_000, timeoutMsg: `removal did not ask, with ${JSON.stringify(unsent)} unsent` });
    await confirm.$("button=Remove anyway").click();
  }
  await browser.waitUntil(async () => (await settingsMessage()).includes("Removed e2e"), { timeout: 10_000 });
  await browser.keys("Escape");
  await browser.$("[data-testid=demo-banner]").waitForExist({ timeout: 10_000 });
  assertNoSecretOnDisk("after the account's removal", ["baton.db"]);
});
