//! The desktop around the window: a tray icon with the count waiting in my queue, and a
//! notification when a new handoff lands there.

use crate::engine::Shared;
use baton_core::alerts::{waiting, Arrivals};
use baton_core::store::QueueFilter;
use std::sync::Arc;
use std::time::Duration;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Listener, Manager};
use tauri_plugin_notification::NotificationExt;

const TRAY: &str = "baton";

pub fn setup(app: &AppHandle, engine: Shared) -> tauri::Result<()> {
    let mut tray = TrayIconBuilder::with_id(TRAY).tooltip("Baton");
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_tray_icon_event(|tray, _| show_window(tray.app_handle()))
        .build(app)?;
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
            let Ok(queue) = active.store.queue(&QueueFilter::default()).await else {
                continue;
            };
            let count = waiting(&queue);
            if let Some(tray) = handle.tray_by_id(TRAY) {
                let _ = tray.set_tooltip(Some(format!("Baton: {count} waiting")));
                let _ = tray.set_title(Some(count.to_string()));
            }
            let fresh = arrivals.update(&queue);
            let (title, body) = match fresh.as_slice() {
                [] => continue,
                [one] => (
                    format!(
                        "New handoff: {}",
                        one.requester_name.as_deref().unwrap_or(&one.subject)
                    ),
                    one.reason.clone().unwrap_or_else(|| one.subject.clone()),
                ),
                many => (
                    format!("{} new handoffs", many.len()),
                    "Open Baton to pick them up.".to_string(),
                ),
            };
            if let Err(e) = handle
                .notification()
                .builder()
                .title(title)
                .body(body)
                .show()
            {
                tracing::debug!(error = %e, "no notification shown");
            }
        }
    });
    Ok(())
}

pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
