// The real Baton window in team mode: a simulator sending webhooks to a `baton relay`,
// which publishes to a real nats-server; the rep's desktop joined the team with the CLI
// (the keychain of run.sh's session) and reads its queue from the team's stream. All on
// 127.0.0.1. Started by ./run.sh, after app.test.mjs (whose app has closed by then).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { remote } from "webdriverio";

const shots = new URL("./screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const work = process.env.BATON_E2E_WORK;
const bin = dirname(process.env.BATON_APP);
const dir = join(work, "team");
const db = join(dir, "baton.db");
const random = () => [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
// This run's secrets: canaries, looked for in every file the app writes and in the window.
const NATS_PASSWORD = `nats-canary-${random()}`;
const RELAY_PASSWORD = `relay-canary-${random()}`;
const TOKEN = `team-token-canary-${random()}`;
const WEBHOOK_SECRET = `whsec-${random()}`;
const REP = "maria";
// A second member, a rep, on a desktop of its own (the CLI's, on another database); the
// window's user is the team's lead.
const OTHER = "omar";
const EMAIL = "alex@acme.test";

let browser;
const children = [];
let simUrl, natsUrl;
/** The team's nats-server, and how to start it again (same port, same store). */
let nats, startNats;

/** A free port on 127.0.0.1 (the simulator must know the relay's before the relay starts). */
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a process, its output lines kept (and teed to a log file) for waiting on. */
function start(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  const log = join(dir, `${name}.log`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (l) => {
      lines.push(l);
      writeFileSync(log, `${l}\n`, { flag: "a" });
    });
  }
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  children.push(child);
  return {
    child,
    lines,
    /** Waits for a line containing `text`; fails with the process's output. */
    async waitFor(text, timeout) {
      const until = Date.now() + timeout;
      while (!lines.some((l) => l.includes(text))) {
        assert.ok(exited === null, `${name} exited (${JSON.stringify(exited)}) before saying "${text}":\n${lines.join("\n")}`);
        assert.ok(Date.now() < until, `${name} did not say "${text}" within ${timeout} ms:\n${lines.join("\n")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** The `baton` CLI on the rep's database, with `stdin`; its stdout. */
function baton(args, stdin = "", database = db) {
  const out = spawnSync(join(bin, "baton"), ["--db", database, ...args], { input: stdin, encoding: "utf8", timeout: 60_000 });
  assert.equal(out.status, 0, `baton ${args.join(" ")}: ${out.stderr}${out.stdout}`);
  return out.stdout;
}

/** The app processes of this run (any database): the window test's must be gone before
 * this one starts, or the single-instance handover would hand this launch to it. */
function runningApps() {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const exe = readlinkSync(`/proc/${pid}/exe`);
      if (exe !== process.env.BATON_APP && exe !== `${process.env.BATON_APP} (deleted)`) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`BATON_E2E_WORK=${work}`)) pids.push(Number(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function invoke(cmd, args = {}) {
  return browser.execute((cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args), cmd, args);
}
const chip = () => browser.$("[data-testid=status-chip]");
const chipWords = () => browser.execute(() => document.querySelector("[data-testid=status-chip] > span:last-of-type")?.textContent ?? "");
/** Waits until the chip's words are `words` (a string, or a test of them). */
async function chipSays(words, timeout, why) {
  const ok = typeof words === "string" ? (w) => w === words : words;
  await browser.waitUntil(async () => ok(await chipWords()), {
    timeout,
    interval: 100,
    timeoutMsg: `${why}: the chip says "${await chipWords()}" (${await chip().getAttribute("title")})`,
  });
}
const teamMessage = async () => {
  const m = browser.$("[data-testid=team-message]");
  return (await m.isExisting()) ? m.getText() : "";
};
/** axe-core's WCAG 2.1 A and AA checks over the settings dialog (app.test.mjs checks the
 * main screen). */
const AXE = readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
async function accessibilityViolations() {
  if (!(await browser.execute(() => typeof window.axe === "object"))) await browser.execute(AXE);
  return browser.execute(async () => {
    const r = await window.axe.run(document.querySelector("[data-testid=settings]"), {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.slice(0, 4).map((n) => `    ${n.target.join(" ")}`).join("\n")}`);
  });
}
async function openSettings() {
  if (!(await browser.$("[data-testid=settings]").isExisting())) await browser.$("[data-testid=open-settings]").click();
  await browser.$("[data-testid=team] h3").waitForExist({ timeout: 2_000 });
}

before(async () => {
  mkdirSync(dir, { recursive: true });
  const natsServer = process.env.BATON_NATS_SERVER;
  assert.ok(natsServer && existsSync(natsServer), `run.sh finds nats-server (scripts/install-deps.sh installs it): "${natsServer}"`);
  const [natsPort, relayPort] = [await freePort(), await freePort()];
  natsUrl = `nats://127.0.0.1:${natsPort}`;

  // The vendor: a live simulator whose every ticket change is a webhook to the relay.
  const sim = start("sim", join(bin, "baton-sim"), [
    "--port", "0", "--seed", "11", "--tickets", "20", "--token", TOKEN,
    "--live", "--live-every", "1.5",
    "--webhook-url", `http://127.0.0.1:${relayPort}/webhooks/zendesk/acme`,
  ], { BATON_SIM_WEBHOOK_SECRET: WEBHOOK_SECRET });
  await sim.waitFor("listening on", 10_000);
  simUrl = sim.lines.join("\n").match(/http:\/\/[0-9.:]+/)[0];

  // The relay's configuration: no secrets in it.
  const relayToml = join(dir, "relay.toml");
  writeFileSync(relayToml, [
    `team = "e2e"`,
    `listen = "127.0.0.1:${relayPort}"`,
    `state_dir = ${JSON.stringify(join(dir, "relay"))}`,
    `export_every_secs = 12`,
    `leads = ["${REP}"]`,
    `[nats]`,
    `url = "${natsUrl}"`,
    `user = "relay"`,
    `[[accounts]]`,
    `id = "acme"`,
    `vendor = "zendesk"`,
    `url = "${simUrl}"`,
    `login = "${EMAIL}"`,
    ``,
  ].join("\n"));

  // The NATS server with the users `baton relay nats-config` prints, their passwords set.
  const printed = spawnSync(join(bin, "baton"), ["relay", "--config", relayToml, "nats-config", "--rep", REP, "--rep", OTHER], { encoding: "utf8" });
  assert.equal(printed.status, 0, printed.stderr);
  const accounts = JSON.parse(printed.stdout.replace(/^accounts:\s*/, ""));
  for (const u of accounts.BATON.users) u.password = u.user === "relay" ? RELAY_PASSWORD : NATS_PASSWORD;
  const natsConf = join(dir, "nats.conf");
  writeFileSync(natsConf, [
    `listen: 127.0.0.1:${natsPort}`,
    `server_name: baton_e2e`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, "jetstream"))} }`,
    `accounts: ${JSON.stringify(accounts, null, 2)}`,
    ``,
  ].join("\n"));
  startNats = async () => {
    nats = start("nats", natsServer, ["-c", natsConf]);
    await nats.waitFor("Server is ready", 10_000);
  };
  await startNats();

  // The relay, its secrets from the environment.
  const relay = start("relay", join(bin, "baton"), ["relay", "--config", relayToml], {
    BATON_NATS_PASSWORD: RELAY_PASSWORD,
    BATON_ACME_TOKEN: TOKEN,
    BATON_ACME_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  await relay.waitFor("working", 30_000);

  // The rep's desktop: their own account (who they are, and replies), then the team.
  baton(["account", "add", "zendesk", "--name", "acme", "--url", simUrl, "--email", EMAIL], `${TOKEN}\n`);
  const joined = baton(["team", "join", natsUrl, "--user", REP], `${NATS_PASSWORD}\n`);
  assert.match(joined, /feeds your account acme/);

  // The app on that database: run.sh's driver starts what it is given, so a wrapper sets it.
  const app = join(dir, "baton-app.sh");
  writeFileSync(app, `#!/bin/sh\nBATON_DB='${db}' exec '${process.env.BATON_APP}' "$@"\n`);
  chmodSync(app, 0o755);
  for (let k = 0; runningApps().length > 0; k++) {
    assert.ok(k < 300, `the window test's app is still running: ${runningApps()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.WEBDRIVER_PORT),
    logLevel: "silent",
    capabilities: { "tauri:options": { application: app } },
  });
  await chip().waitForExist({ timeout: 30_000 });
});

after(async () => {
  await browser?.deleteSession().catch(() => {});
  for (const c of children.reverse()) c.kill("SIGTERM");
});

test("in a team, the chip says team · live and a handoff the simulator creates arrives through the relay", async () => {
  await chipSays("team · live", 30_000, "the desktop never caught up with the team");
  assert.equal(await chip().getAttribute("data-state"), "synced");
  assert.ok((await browser.$("[data-testid=queue-row]").isExisting()), "the queue shows the team's conversations");
  const info = await invoke("app_info");
  assert.equal(info.demo, false);
  await browser.saveScreenshot(`${shots}team-live.png`);

  const stats = async () => (await fetch(`${simUrl}/__sim/stats`)).json();
  const known = (await stats()).live_created.length;
  let created;
  await browser.waitUntil(async () => {
    created = (await stats()).live_created[known];
    return created !== undefined;
  }, { timeout: 20_000, interval: 50, timeoutMsg: "the simulator created no handoff" });
  const [id, at] = created;
  // Scroll through the virtual list like a rep would, looking for the new row.
  const seen = () =>
    browser.execute(async (id) => {
      const q = document.querySelector("[data-testid=queue]");
      for (let top = 0; q && top <= q.scrollHeight; top += q.clientHeight) {
        q.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(r));
        if (q.querySelector(`[data-external-id="${id}"]`)) return true;
      }
      return false;
    }, String(id));
  await browser.waitUntil(seen, { timeout: 20_000, interval: 100, timeoutMsg: `ticket ${id} did not arrive from the team` });
  console.log(`team: live handoff ${id} appeared ${Date.now() - at} ms after the simulator created it (webhook → relay → NATS → desktop)`);
  const items = await invoke("queue", { filter: {} });
  assert.ok(items.some((i) => i.external_id === String(id) && i.account_id === "acme"), "it is in the acme account's queue");
  assert.equal(await chipWords(), "team · live");
});

test("a verdict given in the window reaches another member's desktop through the relay, with the lead's name", async () => {
  await chipSays("team · live", 30_000, "the desktop never caught up with the team");
  await browser.keys("v");
  await browser.$("[data-testid=review]").waitForExist({ timeout: 5_000, timeoutMsg: "v did not open the review" });
  await browser.$("[data-testid=sharing]").waitForExist({ timeout: 5_000, timeoutMsg: "the review does not say it is shared with the team" });
  assert.equal(await browser.$("[data-testid=sharing]").getText(), "Marks, rules and draft outcomes are shared with your team");
  await browser.$("[data-testid=handed-off]").click();
  const row = browser.$("[data-testid=handoff-row]");
  await row.waitForExist({ timeout: 5_000, timeoutMsg: "the review lists no handoff" });
  const id = Number(await row.getAttribute("data-id"));
  const [marked] = (await invoke("review_handoffs", { filter: { since: 0, until: Date.now() + 86_400_000 } })).filter((r) => r.conversation_id === id);
  await row.$("[data-testid=mark-avoidable]").click();
  await browser.waitUntil(async () => (await invoke("sharing_status")).waiting === 0, { timeout: 10_000, timeoutMsg: "the verdict never left for the team" });

  // Another member's desktop: its own database, its own account, joined as a rep.
  const other = join(dir, "other.db");
  baton(["account", "add", "zendesk", "--name", "acme", "--url", simUrl, "--email", EMAIL], `${TOKEN}\n`, other);
  baton(["team", "join", natsUrl, "--user", OTHER], `${NATS_PASSWORD}\n`, other);
  let theirs;
  for (let k = 0; k < 20 && !theirs; k++) {
    baton(["sync", "--once"], "", other);
    const rows = JSON.parse(baton(["report", "handoffs", "--format", "json"], "", other)).handoffs;
    theirs = rows.find((r) => r.external_id === marked.external_id && r.verdict === "avoidable");
    if (!theirs) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(theirs, `#${marked.external_id}'s verdict did not reach the other desktop`);
  assert.equal(theirs.marked_by, REP, "the other desktop says whose verdict it is");
  await browser.keys("Escape");
});

test("the chip says in words when the team's server is down, and live again when it is back", async () => {
  await chipSays("team · live", 30_000, "not live to begin with");
  nats.child.kill("SIGTERM");
  await chipSays((w) => w.startsWith("team · ") && w !== "team · live", 30_000, "the chip did not notice the team's server stopped");
  const words = await chipWords();
  const title = await chip().getAttribute("title");
  await browser.saveScreenshot(`${shots}team-offline.png`);
  console.log(`team: with its NATS down the chip says "${words}" (${title})`);
  assert.equal(words, "team · can't reach the team's server: check your connection; retrying");
  assert.ok(!title.includes(NATS_PASSWORD));
  // Settings still says where and as whom, and why the team's accounts are not listed.
  await openSettings();
  const problem = browser.$("[data-testid=team-problem]");
  await problem.waitForExist({ timeout: 15_000, timeoutMsg: "Settings did not say the team cannot be read" });
  assert.equal(await problem.getText(), `The team's accounts can't be listed now. Can't reach ${new URL(natsUrl.replace("nats:", "http:")).host}: check the URL and your connection.`);
  assert.ok((await browser.$("[data-testid=team-who]").getText()).includes(REP));
  await browser.saveScreenshot(`${shots}team-settings-offline.png`);
  await browser.keys("Escape");
  await startNats();
  await chipSays("team · live", 45_000, "the desktop did not come back to the team");
});

test("Settings shows the team and what it feeds; leaving goes back to Zendesk; joining from the form comes back", async () => {
  await openSettings();
  const who = browser.$("[data-testid=team-who]");
  await who.waitForExist({ timeout: 10_000 });
  const said = await who.getText();
  assert.ok(said.includes(natsUrl) && said.includes(REP), said);
  const account = browser.$("[data-testid=team-account][data-id=acme]");
  await account.waitForExist({ timeout: 5_000 });
  assert.match(await account.getText(), /feeds your account acme/);
  await browser.saveScreenshot(`${shots}team-settings.png`);
  const found = { team: await accessibilityViolations() };

  // Leave, with a confirmation that takes the focus.
  await browser.$("[data-testid=team-leave]").click();
  const confirm = browser.$("[data-testid=leave-confirm]");
  await confirm.waitForExist({ timeout: 2_000 });
  assert.equal(await browser.execute(() => document.activeElement?.textContent), "Stay");
  await confirm.$("button=Leave the team").click();
  await browser.waitUntil(async () => (await teamMessage()).startsWith("Left the team"), { timeout: 10_000, timeoutMsg: `did not leave: "${await teamMessage()}"` });
  await browser.$("form[aria-label='Join a team']").waitForExist({ timeout: 2_000 });
  // The account syncs from the simulator itself again.
  await chipSays((w) => /^synced /.test(w), 30_000, "the account did not sync by itself after leaving");

  // A wrong password is refused in words, and not kept in the form.
  const join = async (password) => {
    await browser.$("input[name=nats_url]").setValue(natsUrl);
    await browser.$("input[name=nats_user]").setValue(REP);
    await browser.$("input[name=nats_password]").setValue(password);
    await browser.$("form[aria-label='Join a team'] button[type=submit]").click();
  };
  await join(`${NATS_PASSWORD}-wrong`);
  const kind = () => browser.execute(() => document.querySelector("[data-testid=team-message]")?.dataset.kind ?? null);
  await browser.waitUntil(async () => (await kind()) === "auth", { timeout: 15_000, timeoutMsg: `no refusal: "${await teamMessage()}"` });
  assert.equal(await teamMessage(), `127.0.0.1:${natsUrl.split(":").at(-1)} refused the login: check the user name and password and type them again.`);
  assert.equal(await browser.$("input[name=nats_password]").getValue(), "", "the password does not linger in the form");
  await browser.saveScreenshot(`${shots}team-join-refused.png`);
  found.join = await accessibilityViolations();
  for (const [screen, violations] of Object.entries(found)) assert.deepEqual(violations, [], `${screen}:\n${violations.join("\n")}`);

  await join(NATS_PASSWORD);
  await browser.waitUntil(async () => (await teamMessage()).startsWith("Joined the team"), { timeout: 15_000, timeoutMsg: `did not join: "${await teamMessage()}"` });
  await account.waitForExist({ timeout: 5_000 });
  await browser.keys("Escape");
  await chipSays("team · live", 30_000, "the desktop did not read from the team again");
});

test("the NATS password is in no file the app wrote, nor in the window", async () => {
  const keyrings = join(process.env.XDG_DATA_HOME, "keyrings");
  const files = [];
  const walk = (path) => {
    if (path === keyrings) return;
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
    else if (st.isFile()) files.push(path);
  };
  for (const f of readdirSync(dir).filter((f) => f.startsWith("baton.db"))) walk(join(dir, f));
  walk(process.env.XDG_DATA_HOME);
  walk(process.env.XDG_CONFIG_HOME);
  walk(join(work, "driver.log"));
  const names = files.map((f) => f.slice(work.length + 1));
  for (const must of ["team/baton.db", "team/baton.db-wal", "driver.log"]) assert.ok(names.includes(must), `${must} was scanned; scanned: ${names.join(", ")}`);
  assert.ok(names.some((n) => /\/baton\/logs\/baton\..*log$/.test(n)), `a log file was scanned: ${names.join(", ")}`);
  const bytes = files.map((path) => ({ path, bytes: readFileSync(path) }));
  // The scan reads what the app stores: the team's URL and user are in the database.
  assert.ok(bytes.some((f) => f.path.startsWith(db) && f.bytes.includes(natsUrl)), "the membership is in the scanned database");
  for (const secret of [NATS_PASSWORD, TOKEN]) {
    const leaks = bytes.filter((f) => f.bytes.includes(secret)).map((f) => f.path);
    assert.deepEqual(leaks, [], `a secret (${secret.slice(0, 4)}…) is on disk in ${leaks.join(", ")}`);
  }
  // Nor in what the window has or can ask for.
  const status = JSON.stringify(await invoke("team_status"));
  assert.ok(status.includes(REP) && !status.includes(NATS_PASSWORD), status);
  await openSettings();
  const page = await browser.execute(() => document.documentElement.outerHTML + [...document.querySelectorAll("input")].map((i) => i.value).join("\n"));
  assert.ok(!page.includes(NATS_PASSWORD) && !page.includes(TOKEN), "no secret in the page");
  await browser.keys("Escape");
});
