//! Baton's desktop shell: a thin Tauri layer over baton-engine. Logic lives in the crates.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod backend;
mod commands;
mod desktop;
mod ipc;
mod logs;
mod notify;

use std::sync::Arc;
use tauri::Manager;

/// Where the platform keeps an app's logs: `~/Library/Logs` on macOS (where Console
/// looks), beside the app's data elsewhere.
fn log_dir() -> Option<std::path::PathBuf> {
    if cfg!(target_os = "macos") {
        return Some(dirs::home_dir()?.join("Library/Logs/Baton"));
    }
    Some(dirs::data_local_dir()?.join("baton").join("logs"))
}

fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| "info".into());
    let dir = log_dir()?;
    // One file a day, the last week kept, readable by the user alone.
    let appender = logs::PrivateDaily::open(&dir, chrono::Utc::now)
        .map_err(|e| eprintln!("baton: no log files in {}: {e}", dir.display()))
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer),
        )
        .init();
    Some(guard)
}

fn main() {
    let _log = init_logging();
    tauri::Builder::default()
        // First: a second launch hands over to this one and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            desktop::show_window(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let backend: backend::Shared = Arc::new(tauri::async_runtime::block_on(
                backend::Backend::start(app.handle().clone()),
            )?);
            app.manage(backend.clone());
            desktop::setup(app.handle(), backend)?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::queue,
            commands::detail,
            commands::search,
            commands::statuses,
            commands::app_info,
            commands::open_link,
            commands::accounts,
            commands::add_account,
            commands::add_salesforce_account,
            commands::test_account,
            commands::update_account,
            commands::account_unsent,
            commands::remove_account,
            commands::draft_action,
            commands::save_edit,
            commands::saved_edit,
            commands::replies,
            commands::retry_reply,
            commands::cancel_reply,
            commands::draft_report,
            commands::review_summary,
            commands::review_handoffs,
            commands::mark_handoff,
            commands::unmark_handoff,
            commands::sharing_status,
            commands::category_rules,
            commands::save_category_rules,
            commands::preview_rule,
            commands::export_handoffs,
            commands::export_summary,
            commands::team_status,
            commands::team_join,
            commands::team_leave,
        ])
        .build(tauri::generate_context!("../tauri.conf.json"))
        .expect("Baton failed to start")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                // Stop the sync loops between pages, not in the middle of a write.
                if let Some(backend) = app.try_state::<backend::Shared>() {
                    backend.stop();
                }
            }
        });
}
