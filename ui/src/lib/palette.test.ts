// Both themes' colours, read from app.css, against WCAG 2.1 AA: 4.5:1 for text, 3:1 for the
// marks that carry meaning without text (status dots, the selection bar). axe-core checks
// the light theme in the real window (tests/e2e); the dark one is checked here.
import Color from "colorjs.io";
import { describe, expect, it } from "vitest";
import css from "../app.css?raw";

function tokens(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*(#[0-9a-f]{3,8})/gi)].map((m) => [m[1]!, m[2]!]));
}

const light = tokens(css.slice(css.indexOf(":root"), css.indexOf("@media (prefers-color-scheme: dark)")));
const dark = { ...light, ...tokens(css.slice(css.indexOf("@media (prefers-color-scheme: dark)"))) };

// Every text colour on every surface it is drawn on.
const TEXT: [string, string[]][] = [
  ["fg", ["bg", "panel", "chip", "hover", "selected", "customer", "ai", "agent", "system"]],
  ["muted", ["bg", "panel", "chip", "hover", "selected", "customer", "ai", "agent", "system"]],
  ["accent", ["bg", "panel", "customer", "ai", "agent", "system"]],
  ["bad", ["bg", "panel", "system"]],
  ["on-accent", ["accent"]],
];
const MARKS: [string, string[]][] = [
  ["ok", ["bg", "chip"]],
  ["warn", ["bg", "chip"]],
  ["bad", ["bg", "chip"]],
  ["accent", ["bg", "chip", "selected"]],
  ["ai-strong", ["bg", "panel"]],
  ...["asked_for_human", "no_answer", "policy_or_account", "upset", "technical", "other", "uncategorised"].map(
    (c): [string, string[]] => [`cat-${c}`, ["bg", "panel"]],
  ),
];

function failures(theme: Record<string, string>, pairs: [string, string[]][], min: number): string[] {
  const out: string[] = [];
  for (const [fg, surfaces] of pairs) {
    for (const bg of surfaces) {
      expect(theme[fg], `--${fg} is defined`).toBeDefined();
      expect(theme[bg], `--${bg} is defined`).toBeDefined();
      const ratio = new Color(theme[fg]!).contrast(new Color(theme[bg]!), "WCAG21");
      if (ratio < min) out.push(`--${fg} on --${bg}: ${ratio.toFixed(2)}:1`);
    }
  }
  return out;
}

describe.each([
  ["light", light],
  ["dark", dark],
])("the %s theme", (_name, theme) => {
  it("gives text 4.5:1 against every surface it sits on", () => {
    expect(failures(theme, TEXT, 4.5)).toEqual([]);
  });
  it("gives meaningful marks 3:1", () => {
    expect(failures(theme, MARKS, 3)).toEqual([]);
  });
});
