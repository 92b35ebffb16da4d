// The Rust types the UI receives: one generated file per crate that defines them
// (crates/core/src/bindings.rs says how they are made). Hand-written, so the rest of the
// UI imports from "./bindings" and need not know which crate a type comes from.
export type * from "./core";
export type * from "./engine";
export type * from "./zendesk";
export type * from "./app";
