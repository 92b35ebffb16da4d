// The packaged app as a user meets it: the binary a package installed (or the AppImage),
// started with a fresh home on no account, paints the demo queue and says its version.
// Run by scripts/test-package.sh (not by run.sh), which installs the package, starts
// tauri-driver and sets BATON_PACKAGE_APP, BATON_PACKAGE_VERSION and BATON_PACKAGE_SHOT.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { remote } from "webdriverio";

const { BATON_PACKAGE_APP: app, BATON_PACKAGE_VERSION: version, BATON_PACKAGE_SHOT: shot } = process.env;
assert.ok(app && version && shot, "test-package.sh sets BATON_PACKAGE_APP, _VERSION and _SHOT");
let browser;

before(async () => {
  browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.WEBDRIVER_PORT),
    logLevel: "silent",
    capabilities: { "tauri:options": { application: app } },
  });
});

after(async () => {
  await browser?.deleteSession();
});

test(`${app}: the demo queue is painted`, async () => {
  // An AppImage unpacks itself first where FUSE is missing: longer than a plain start.
  await browser.$("[data-testid=queue-row]").waitForDisplayed({ timeout: 60_000 });
  assert.ok(await browser.$("[data-testid=demo-banner]").isDisplayed(), "the demo is said out loud");
  const rows = await browser.$$("[data-testid=queue-row]").length;
  assert.ok(rows > 0, `queue rows: ${rows}`);
  await browser.saveScreenshot(shot);
});

test(`${app}: ? shows the version`, async () => {
  await browser.keys("?");
  const shown = await browser.$("[data-testid=version]");
  await shown.waitForDisplayed({ timeout: 5_000 });
  assert.equal(await shown.getText(), `Baton ${version}`);
  await browser.keys("Escape");
});
