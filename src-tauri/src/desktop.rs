//! The desktop around the window: a tray icon with the count waiting in my queue, a
//! notification when a new handoff lands there (a click opens it), and the window's
//! geometry kept as it changes.

use crate::backend::Shared;
use baton_core::alerts::{notice, tray_tooltip, waiting, Arrivals, Notice};
use baton_core::store::QueueFilter;
use std::sync::Arc;
use std::time::Duration;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Listener, Manager, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

const TRAY: &str = "baton";

pub fn setup(app: &AppHandle, engine: Shared) -> tauri::Result<()> {
    let mut tray = TrayIconBuilder::with_id(TRAY).tooltip("Baton");
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_tray_icon_event(|tray, _| show_window(tray.app_handle()))
        .build(app)?;
    keep_geometry(app);
    let notifier = crate::notify::Notifier::default();
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    app.listen("store-changed", move |_| w.notify_one());
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut arrivals = Arrivals::default();
        let mut shown_for = None;
        loop {
            wake.notified().await;
            // A sync commits in bursts: look once the burst is over.
            tokio::time::sleep(Duration::from_millis(400)).await;
            let active = engine.active();
            let me = active.info.me_id.clone();
            let key = (active.info.demo, me);
            if shown_for.as_ref() != Some(&key) {
                // Another set of accounts: what it holds is not news.
                arrivals = Arrivals::default();
                shown_for = Some(key);
            }
            let mine = QueueFilter {
                my_scope: true,
                ..Default::default()
            };
            let Ok(queue) = active.store().queue(&mine).await else {
                continue;
            };
            let count = waiting(&queue);
            if let Some(tray) = handle.tray_by_id(TRAY) {
                let _ = tray.set_tooltip(Some(tray_tooltip(count)));
                let _ = tray.set_title(Some(count.to_string()));
            }
            let Some(Notice { title, body, opens }) = notice(&arrivals.update(&queue)) else {
                continue;
            };
            let app = handle.clone();
            notifier
                .show(title, body, opens, move |id| open_conversation(&app, id))
                .await;
        }
    });
    Ok(())
}

/// A notification was clicked: bring the window up on that conversation.
fn open_conversation(app: &AppHandle, id: i64) {
    show_window(app);
    let _ = app.emit("open-conversation", id);
}

/// The window-state plugin saves on a clean exit; saving shortly after each move or resize
/// keeps the geometry through a crash or a kill too.
fn keep_geometry(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let changed = Arc::new(tokio::sync::Notify::new());
    let c = changed.clone();
    window.on_window_event(move |e| {
        if matches!(e, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
            c.notify_one();
        }
    });
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            changed.notified().await;
            // A drag is many moves: save once it settles.
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Err(e) = handle.save_window_state(StateFlags::all()) {
                tracing::debug!(error = %e, "window geometry not saved");
            }
        }
    });
}

pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
