// Keyboard: every action has a key. Pure mapping from a key press to an action, so the
// shortcuts are tested without a window (keys.test.ts).

export type Action =
  | "down"
  | "up"
  | "open"
  | "back"
  | "search"
  | "help"
  | "settings"
  | "accept"
  | "edit"
  | "reject"
  | "report"
  | "review"
  | "view-mine"
  | "view-groups"
  | "view-all"
  | TranscriptMove;

/** Moves in the open transcript. */
export type TranscriptMove = "page-down" | "page-up" | "transcript-start" | "transcript-end" | "handoff-point";

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: "j / ↓", what: "next conversation" },
  { keys: "k / ↑", what: "previous conversation" },
  { keys: "Enter", what: "open the conversation" },
  { keys: "Esc", what: "back to the queue / close" },
  { keys: "/", what: "search transcripts" },
  { keys: "PgDn / PgUp", what: "scroll the transcript" },
  { keys: "Home / End", what: "the transcript's first / newest message" },
  { keys: "h", what: "back to the handoff point" },
  { keys: "a / e / r", what: "accept, edit or reject the Assist draft" },
  { keys: "Ctrl+Enter", what: "send the edited reply" },
  { keys: "1 / 2 / 3", what: "mine / my groups / all" },
  { keys: ",", what: "accounts (add, test, remove)" },
  { keys: "Shift+R", what: "drafts report (for team leads)" },
  { keys: "v", what: "handoff review: why the AI hands off (for team leads)" },
  { keys: "?", what: "this list" },
];

export interface KeyPress {
  key: string;
  ctrl?: boolean;
  meta?: boolean;
  alt?: boolean;
  /** Focus is in a text field: only Esc (and Enter, to run a search) act. */
  typing: boolean;
}

export function actionFor(k: KeyPress): Action | null {
  if (k.ctrl || k.meta || k.alt) return null;
  if (k.key === "Escape") return "back";
  if (k.typing) return null;
  switch (k.key) {
    case "j":
    case "ArrowDown":
      return "down";
    case "k":
    case "ArrowUp":
      return "up";
    case "Enter":
      return "open";
    case "/":
      return "search";
    case "?":
      return "help";
    case ",":
      return "settings";
    case "a":
      return "accept";
    case "e":
      return "edit";
    case "r":
      return "reject";
    case "R":
      return "report";
    case "v":
      return "review";
    case "1":
      return "view-mine";
    case "2":
      return "view-groups";
    case "3":
      return "view-all";
    case "PageDown":
      return "page-down";
    case "PageUp":
      return "page-up";
    case "Home":
      return "transcript-start";
    case "End":
      return "transcript-end";
    case "h":
      return "handoff-point";
    default:
      return null;
  }
}
