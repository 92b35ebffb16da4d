// Measures the desktop app on a large cache; run by ./bench-app.sh.
import { readFileSync, readdirSync } from "node:fs";
import { remote } from "webdriverio";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

const t0 = performance.now();
const browser = await remote({
  hostname: "127.0.0.1",
  port: Number(process.env.WEBDRIVER_PORT),
  logLevel: "silent",
  capabilities: { "tauri:options": { application: process.env.BATON_APP } },
});
await browser.$("[data-testid=queue-row]").waitForExist({ timeout: 120_000, interval: 10 });
const launchWall = performance.now() - t0;
await browser.waitUntil(() => browser.execute(() => performance.getEntriesByName("queue-painted").length > 0), { timeout: 30_000 });
const painted = await browser.execute(() => performance.getEntriesByName("queue-painted")[0].startTime);
/** Memory of the app and its WebKit children after 10 s idle (PSS: shared pages counted once; RSS for reference). */
async function idleMemory() {
  await new Promise((r) => setTimeout(r, 10_000));
  const procs = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const parent = new Map();
  const names = new Map();
  for (const p of procs) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(p, fields[1]);
      names.set(p, readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0]);
    } catch {}
  }
  const app = [...names].find(([, n]) => n === process.env.BATON_APP)?.[0];
  const tree = new Set([app]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (tree.has(pp) && !tree.has(p)) { tree.add(p); grew = true; }
  }
  let pss = 0, rss = 0;
  const parts = [];
  for (const p of tree) {
    const roll = readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
    const kb = (k) => Number(roll.match(new RegExp(`^${k}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
    pss += kb("Pss");
    rss += kb("Rss");
    parts.push(`${names.get(p).split("/").pop()} ${(kb("Pss") / 1024).toFixed(0)}`);
  }
  return `${(pss / 1024).toFixed(0)} MiB (${parts.join(", ")} MiB); RSS summed ${(rss / 1024).toFixed(0)} MiB`;
}

// Before anything else: what the window holds with the whole queue loaded and nothing done yet.
const atLaunch = await idleMemory();
const queue = await browser.execute(() =>
  window.__TAURI_INTERNALS__.invoke("queue", { filter: {} }),
);
const long = queue.find((i) => i.subject.startsWith("Very long conversation"));
const other = queue.find((i) => i.id !== long.id);

/** Clicks a row and waits, in the page, until its transcript is drawn at the handoff point. */
const open = (id, detail) =>
  browser.execute(async (id, count, subject) => {
    const q = document.querySelector("[data-testid=queue]");
    const row = () => q.querySelector(`[data-id="${id}"]`);
    for (let top = 0; !row() && top <= q.scrollHeight; top += q.clientHeight) {
      q.scrollTop = top;
      await new Promise((r) => requestAnimationFrame(r));
    }
    const start = performance.now();
    row().click();
    const drawn = () =>
      document.querySelector("[data-testid=subject]")?.textContent === subject &&
      document.querySelector("[data-testid=transcript]")?.dataset.count === String(count) &&
      (count === 0 || document.querySelector("[data-testid=message-body]") !== null);
    while (!drawn()) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r)); // the frame that shows it
    return performance.now() - start;
  }, id, detail.messages.length, detail.item.subject);

/** How long a backend command takes, called from the page as the UI calls it (IPC included). */
const timeCommand = (cmd, args) =>
  browser.execute(async (cmd, args) => {
    const start = performance.now();
    await window.__TAURI_INTERNALS__.invoke(cmd, args);
    return performance.now() - start;
  }, cmd, args);

const longDetail = await browser.execute((id) => window.__TAURI_INTERNALS__.invoke("detail", { id }), long.id);
const otherDetail = await browser.execute((id) => window.__TAURI_INTERNALS__.invoke("detail", { id }), other.id);
const fetches = [];
for (let k = 0; k < 5; k++) fetches.push(await timeCommand("detail", { id: long.id }));
const opens = [];
const shorts = [];
for (let k = 0; k < 5; k++) {
  shorts.push(await open(other.id, otherDetail));
  opens.push(await open(long.id, longDetail));
}

const afterWork = await idleMemory();
// After the memory reading: these re-reads allocate in the page what a rep's idle window would not.
const queueFetches = [];
for (let k = 0; k < 5; k++) queueFetches.push(await timeCommand("queue", { filter: {} }));
// What the UI reads after a sync touched 50 conversations (one commit): only those rows.
const touched = { account_id: long.account_id, external_ids: queue.slice(0, 50).map((i) => i.external_id) };
const rowFetches = [];
for (let k = 0; k < 5; k++) rowFetches.push(await timeCommand("queue", { filter: touched }));
await browser.deleteSession();

console.log(`| measure (release build, ${queue.length} conversations in the queue, ${process.env.BENCH_TICKETS ?? 10000} tickets cached) | value |`);
console.log(`|---|---|`);
console.log(`| launch → queue painted, in the page (navigation start → first queue frame) | ${ms(painted)} |`);
console.log(`| launch → first row, seen from WebDriver (includes starting the session) | ${ms(launchWall)} |`);
console.log(`| open a ${longDetail.messages.length}-message transcript (click → drawn), median of 5 | ${ms(median(opens))} (all: ${opens.map((x) => x.toFixed(0)).join(", ")}) |`);
console.log(`| for comparison: open a ${otherDetail.messages.length}-message transcript, median of 5 | ${ms(median(shorts))} |`);
console.log(`| of which: the \`detail\` command for it (IPC + SQLite), median of 5 | ${ms(median(fetches))} |`);
console.log(`| re-read the whole queue (${queue.length} rows; the \`queue\` command from the page), median of 5 | ${ms(median(queueFetches))} |`);
console.log(`| re-read the 50 rows one sync commit touched (what the UI does after a change), median of 5 | ${ms(median(rowFetches))} |`);
console.log(`| idle memory of the app's processes (PSS) after launch, queue loaded, nothing done | ${atLaunch} |`);
console.log(`| the same after the work above (the queue scrolled a page at a time down to row ${queue.indexOf(long) + 1} five times, 10 transcripts opened) | ${afterWork} |`);
