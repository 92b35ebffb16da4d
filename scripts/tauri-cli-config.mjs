// Lets the Tauri CLI (`cargo tauri build`, for the macOS and Windows bundles) work with
// this repository's layout. The CLI wants tauri.conf.json beside the app's own Cargo.toml
// (src-tauri/, a [package]) and refuses the root one, beside the workspace's virtual
// manifest ("No package info in the config file"); `cargo build` reads the root one
// (src-tauri/build.rs). This writes src-tauri/tauri.conf.json from the root one, with its
// paths made relative to src-tauri/, so the two cannot drift: run it right before
// `cd src-tauri && cargo tauri build` (packaging/README.md). The copy is not committed.
import { readFileSync, writeFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const conf = JSON.parse(readFileSync(new URL("tauri.conf.json", root), "utf8"));
const up = (p) => `../${p}`;
conf.build.frontendDist = up(conf.build.frontendDist);
conf.bundle.icon = conf.bundle.icon.map(up);
const out = new URL("src-tauri/tauri.conf.json", root);
writeFileSync(out, `${JSON.stringify(conf, null, 2)}\n`);
console.log(`wrote ${out.pathname} from tauri.conf.json`);
