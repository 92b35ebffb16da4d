//! Desktop notifications that open the conversation they announce when clicked.
//!
//! Baton keeps one notification on screen and replaces it with the next, so a busy hour
//! is one up-to-date notification, not a pile, and one thread waits for its click.

use std::sync::{Arc, Mutex, MutexGuard};

/// The notification on screen (the server's id for it; a thread waits for its click or
/// close) and the conversation a click on it opens. `None` while nothing is shown.
#[derive(Debug, Default, PartialEq)]
struct OnScreen(Option<Shown>);

#[derive(Debug, PartialEq)]
struct Shown {
    id: u32,
    opens: i64,
}

impl OnScreen {
    /// The server showed `id` for `opens`. True when nobody listens to `id` yet (a new
    /// notification, not one replaced in place).
    fn shown(&mut self, id: u32, opens: i64) -> bool {
        let listen = self.id() != Some(id);
        self.0 = Some(Shown { id, opens });
        listen
    }

    /// The notification `id` was clicked or went away.
    fn ended(&mut self, id: u32) {
        if self.id() == Some(id) {
            self.0 = None;
        }
    }

    fn id(&self) -> Option<u32> {
        self.0.as_ref().map(|s| s.id)
    }

    fn opens(&self) -> Option<i64> {
        self.0.as_ref().map(|s| s.opens)
    }
}

#[derive(Clone, Default)]
pub struct Notifier(Arc<Mutex<OnScreen>>);

impl Notifier {
    fn state(&self) -> MutexGuard<'_, OnScreen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows (or replaces) the notification; `open` runs with `opens` if it is clicked.
    pub async fn show(
        &self,
        title: String,
        body: String,
        opens: i64,
        open: impl Fn(i64) + Send + Sync + 'static,
    ) {
        let replaces = self.state().id();
        let shown = tauri::async_runtime::spawn_blocking(move || {
            let mut n = notify_rust::Notification::new();
            #[cfg(all(unix, not(target_os = "macos")))]
            let body = as_text(&body, takes_markup());
            n.appname("Baton").summary(&title).body(&body);
            #[cfg(all(unix, not(target_os = "macos")))]
            {
                n.action("default", "Open");
                if let Some(id) = replaces {
                    n.id(id);
                }
            }
            n.show()
        })
        .await;
        let handle = match shown {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no notification shown");
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "notification task failed");
                return;
            }
        };
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let id = handle.id();
            if !self.state().shown(id, opens) {
                return;
            }
            let me = self.clone();
            tauri::async_runtime::spawn_blocking(move || {
                handle.wait_for_action(|action| {
                    let target = me.state().opens();
                    if let (Some(c), "default") = (target, action) {
                        open(c);
                    }
                });
                me.state().ended(id);
            });
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = (handle, opens, open);
    }
}

/// Whether the notification server reads the body as markup (the freedesktop
/// "body-markup" capability). Unknown counts as yes: an entity shown literally is better
/// than a customer's tags taking effect.
#[cfg(all(unix, not(target_os = "macos")))]
fn takes_markup() -> bool {
    notify_rust::get_capabilities().map_or(true, |caps| caps.iter().any(|c| c == "body-markup"))
}

/// The body carries customers' words (a reason, a subject, a name): to a server that reads
/// markup they must stay text, so `<b>` or `<a href>` shows as typed. A server that does
/// not read markup shows the body as it is, entities included, so it gets it unescaped.
#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
fn as_text(body: &str, markup: bool) -> std::borrow::Cow<'_, str> {
    if !markup || !body.contains(['&', '<', '>']) {
        return body.into();
    }
    body.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_words_stay_text_where_the_server_reads_markup() {
        let said = "Ana: <b>refund</b> & <a href=\"https://x.example\">here</a>";
        assert_eq!(
            as_text(said, true),
            "Ana: &lt;b&gt;refund&lt;/b&gt; &amp; &lt;a href=\"https://x.example\"&gt;here&lt;/a&gt;"
        );
        assert_eq!(as_text(said, false), said, "shown as it is elsewhere");
        assert_eq!(
            as_text("AT&amp;T", true),
            "AT&amp;amp;T",
            "an entity typed is text too"
        );
    }

    #[test]
    fn a_replaced_notification_opens_the_newest_conversation_with_one_listener() {
        let mut s = OnScreen::default();
        assert!(s.shown(7, 100), "a new notification needs a listener");
        assert!(
            !s.shown(7, 200),
            "replaced in place: the listener carries on"
        );
        assert_eq!(s.opens(), Some(200), "a click opens what it says now");
        s.ended(7);
        assert_eq!(s, OnScreen::default());
        assert!(
            s.shown(7, 300),
            "shown again after it went away: listen again"
        );
    }

    #[test]
    fn the_end_of_an_old_notification_leaves_the_new_one_alone() {
        let mut s = OnScreen::default();
        assert!(s.shown(1, 100));
        // The server did not replace it (it had gone): a new id, a new listener.
        assert!(s.shown(2, 200));
        s.ended(1);
        assert_eq!(s.id(), Some(2), "still shown, with its listener");
        assert_eq!(s.opens(), Some(200));
        assert!(!s.shown(2, 300), "its listener carries on");
    }
}
