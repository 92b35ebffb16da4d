//! `baton relay` (a team's relay, headless) and `baton team` (a desktop joining one).

use baton_core::secrets::SecretStore;
use baton_core::{CancellationToken, Sensitive, Store};
use baton_engine::team::config::{RelayConfig, RelaySecrets};
use baton_engine::team::desk::{self, TeamView};
use baton_engine::team::relay::Relay;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct RelayArgs {
    /// The relay's configuration (see the README's "For a team").
    #[arg(long, global = true, default_value = "relay.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub action: Option<RelayAction>,
}

#[derive(Subcommand)]
pub enum RelayAction {
    /// Print the NATS server's `accounts` block for this team: the relay's user, and a
    /// read-only user for each rep. Replace the passwords (or bcrypt them with
    /// `nats server passwd`) before use.
    NatsConfig {
        /// A rep's NATS user name (repeat for each rep).
        #[arg(long = "rep")]
        reps: Vec<String>,
    },
    /// Create the vendor's webhook that sends this relay its hints, with the relay's
    /// credentials; its signing secret goes into the secrets file. Safe to run again.
    Setup {
        /// Only `zendesk` for now.
        vendor: String,
        /// Where the vendor reaches this relay (https://relay.example.com).
        #[arg(long)]
        public_url: String,
        /// Only this account of relay.toml.
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Join a team: reads come from its relay instead of the vendor. The NATS password
    /// (or a `.creds` file's content) is read from stdin, or prompted for, and kept in
    /// the keychain.
    Join {
        /// nats://, tls://, or ws:// / wss:// where only HTTPS passes.
        url: String,
        #[arg(long)]
        user: String,
        /// A CA certificate to trust for the server's TLS.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Leave the team: this desktop syncs its accounts itself again.
    Leave,
    /// The team this desktop reads from, and which of its accounts each feeds.
    Status,
}

pub async fn relay(args: RelayArgs) -> Result<(), String> {
    let config = RelayConfig::load(&args.config).map_err(|e| e.to_string())?;
    if let Some(RelayAction::NatsConfig { reps }) = args.action {
        let accounts: Vec<String> = config.accounts.iter().map(|a| a.id.clone()).collect();
        let reps: Vec<(&str, &str)> = reps.iter().map(|r| (r.as_str(), "CHANGE-ME")).collect();
        print!(
            "{}",
            baton_engine::team::nats::server_accounts(
                (&config.nats.user, "CHANGE-ME"),
                &reps,
                &config.leads,
                &accounts
            )
        );
        return Ok(());
    }
    let mut secrets =
        RelaySecrets::load(&config, std::env::vars().collect()).map_err(|e| e.to_string())?;
    if let Some(RelayAction::Setup {
        vendor,
        public_url,
        account,
    }) = &args.action
    {
        if vendor != "zendesk" {
            return Err(format!(
                "relay setup: {vendor:?} is not supported; zendesk is"
            ));
        }
        let done = baton_engine::team::setup::zendesk(
            &config,
            &mut secrets,
            public_url,
            account.as_deref(),
        )
        .await
        .map_err(|e| e.to_string())?;
        for s in done {
            println!(
                "{}: webhook {} {} for {}, subscribed to {} ticket events; its signing secret is in {} (as {}.webhook_secret)",
                s.account,
                s.webhook_id,
                if s.created { "created" } else { "was already there" },
                s.endpoint,
                s.subscriptions,
                s.secret_in.display(),
                s.account,
            );
        }
        return Ok(());
    }
    let holder = format!("{}:{}", hostname(), std::process::id());
    let team = config.team.clone();
    let relay = Relay::start(config, secrets, &holder)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "baton relay for team {team}: webhooks on http://{}/webhooks/zendesk/<account>; standing by until it holds the lease",
        relay.webhook_addr()
    );
    let relay = Arc::new(relay);
    let cancel = CancellationToken::new();
    tokio::spawn(stop_on_signal(cancel.clone()));
    let watch = {
        let relay = relay.clone();
        tokio::spawn(async move {
            let mut was = false;
            loop {
                let now = relay.is_active();
                if now != was {
                    println!(
                        "{}",
                        if now {
                            "working (holds the lease)"
                        } else {
                            "standing by"
                        }
                    );
                    was = now;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    for s in relay.statuses() {
        crate::run::report_status(&s);
    }
    let result = relay.run(cancel).await;
    watch.abort();
    result.map_err(|e| e.to_string())
}

async fn stop_on_signal(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    cancel.cancel();
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "relay".into())
}

pub async fn team(store: &Store, command: TeamCommand) -> Result<(), String> {
    let keychain = baton_engine::keychain();
    match command {
        TeamCommand::Join { url, user, ca_file } => {
            let secret = read_nats_secret(&user)?;
            let now = chrono::Utc::now().timestamp_millis();
            let view = desk::join(store, &keychain, &url, &user, secret, ca_file, now)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Joined the team at {} as {}.",
                view.nats_url, view.user_name
            );
            print_view(&view);
            Ok(())
        }
        TeamCommand::Leave => {
            if desk::leave(store, &keychain as &dyn SecretStore)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("Left the team: `baton sync` and the app read from the vendor again.");
            } else {
                println!("This desktop is not in a team.");
            }
            Ok(())
        }
        TeamCommand::Status => match desk::describe(store, &keychain)
            .await
            .map_err(|e| e.to_string())?
        {
            None => {
                println!("Not in a team: this desktop syncs its accounts itself.");
                Ok(())
            }
            Some(view) => {
                println!("In the team at {} as {}.", view.nats_url, view.user_name);
                print_view(&view);
                Ok(())
            }
        },
    }
}

fn print_view(view: &TeamView) {
    for a in &view.accounts {
        match &a.local_id {
            Some(local) => println!("  {} ({}) feeds your account {local}", a.team_id, a.url),
            None => println!(
                "  {} ({}) is not added here: add it with `baton account add {} --url {}` (your own token, for replies) to see it",
                a.team_id, a.url, a.vendor, a.url
            ),
        }
    }
}

/// A password, or a whole `.creds` file, from stdin; prompted on a terminal. The engine
/// takes what it needs of it.
fn read_nats_secret(user: &str) -> Result<Sensitive<String>, String> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("NATS password for {user}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        s
    };
    Ok(Sensitive::new(text))
}
