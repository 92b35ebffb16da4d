//! `baton`: the headless Baton — connect accounts, sync, and read the queue from a shell.

mod render;
mod run;

use baton_core::model::{Channel, SourceKind};
use baton_core::secrets::{Keychain, SecretStore};
use baton_core::store::{AccountRecord, AuthKind, QueueFilter};
use baton_core::{Sensitive, Store};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: why the AI handed off, the whole transcript, and the Assist draft."
)]
struct Cli {
    /// The cache database (default: the platform data dir).
    #[arg(long, env = "BATON_DB", global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded simulator (live) and sync it, printing the queue as it changes.
    Demo(run::DemoArgs),
    /// Connect, list or remove vendor accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Sync every account: continuously, or once to the end of the stream.
    Sync {
        #[arg(long)]
        once: bool,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
    },
    /// The rep's queue: open handoffs and pending Assist drafts, longest waiting first.
    Queue {
        #[arg(long)]
        json: bool,
        /// Include solved and closed conversations.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
    },
    /// One conversation: handoff summary, ids, links, transcript and Assist draft.
    Show {
        /// The ticket number (or `account:number`).
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Search transcripts.
    Search {
        text: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Connect a Zendesk account. The API token is read from stdin, or prompted for.
    Add(AddArgs),
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disconnect an account: removes its cached data and its keychain entry.
    Remove { name: String },
}

#[derive(Args)]
struct AddArgs {
    /// Only `zendesk` for now.
    kind: String,
    /// e.g. https://acme.zendesk.com
    #[arg(long)]
    url: String,
    /// The agent's email (API token auth).
    #[arg(long)]
    email: Option<String>,
    /// A short name for the account (default: the subdomain).
    #[arg(long)]
    name: Option<String>,
    /// The secret is an OAuth access token, not an API token.
    #[arg(long)]
    oauth: bool,
    /// Sunshine Conversations app id: read messaging transcripts there when a ticket's
    /// conversation log is not available. Its key secret is the second line on stdin
    /// (or a second prompt).
    #[arg(long, requires = "sunco_key_id")]
    sunco_app_id: Option<String>,
    #[arg(long, requires = "sunco_app_id")]
    sunco_key_id: Option<String>,
    /// Default: {url}/sc
    #[arg(long, requires = "sunco_app_id")]
    sunco_url: Option<String>,
}

pub const KEYCHAIN_SERVICE: &str = "baton";

fn default_db(file: &str) -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("baton")
        .join(file)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    run::init_logging();
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    let e = |e: baton_core::Error| e.to_string();
    if let Command::Demo(args) = cli.command {
        let path = cli.db.unwrap_or_else(|| default_db("demo.db"));
        return run::demo(&path, args).await;
    }
    let store = Store::open(&cli.db.unwrap_or_else(|| default_db("baton.db")))
        .await
        .map_err(e)?;
    let now = chrono::Utc::now().timestamp_millis();
    match cli.command {
        Command::Demo(_) => unreachable!("handled above"),
        Command::Account(AccountCommand::Add(a)) => add_account(&store, a).await,
        Command::Account(AccountCommand::List { json }) => {
            let accounts = store.accounts().await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&accounts).expect("serializes")
                );
            } else if accounts.is_empty() {
                println!("No accounts. Add one with: baton account add zendesk --url https://SUBDOMAIN.zendesk.com --email YOU@EXAMPLE.COM");
            } else {
                for a in accounts {
                    println!(
                        "{:<16} {:<10} {:<40} {}",
                        a.id,
                        a.kind,
                        a.base_url,
                        a.login.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Account(AccountCommand::Remove { name }) => {
            let account = store.account(&name).await.map_err(e)?;
            store.remove_account(&name).await.map_err(e)?;
            let keychain = Keychain::new(KEYCHAIN_SERVICE);
            for entry in [
                account.secret_ref.clone(),
                format!("{}:sunco", account.secret_ref),
            ] {
                if let Err(err) = keychain.delete(&entry) {
                    eprintln!(
                        "baton: removed {name}, but a keychain entry could not be deleted: {err}"
                    );
                }
            }
            println!("Removed {name} and its cached conversations.");
            Ok(())
        }
        Command::Sync { once, account } => {
            run::sync(
                &store,
                &Keychain::new(KEYCHAIN_SERVICE),
                account.as_deref(),
                once,
            )
            .await
        }
        Command::Queue {
            json,
            all,
            channel,
            limit,
        } => {
            let channel = match channel {
                Some(c) => Some(Channel::parse(&c).ok_or_else(|| {
                    format!(
                        "unknown channel {c:?}; one of: {}",
                        Channel::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?),
                None => None,
            };
            let mut filter = QueueFilter {
                include_done: all,
                channel,
                limit,
                ..Default::default()
            };
            filter.me_id = store
                .accounts()
                .await
                .map_err(e)?
                .into_iter()
                .find_map(|a| a.me_id);
            let items = store.queue(&filter).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&items).expect("serializes")
                );
            } else {
                print!("{}", render::queue(&items, now));
            }
            Ok(())
        }
        Command::Show { id, json } => {
            let (account, ext) = match id.split_once(':') {
                Some((a, x)) => (Some(a), x),
                None => (None, id.trim_start_matches('#')),
            };
            let conv = store.conversation_id(account, ext).await.map_err(e)?;
            let detail = store.detail(conv).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&detail).expect("serializes")
                );
            } else {
                print!("{}", render::detail(&detail, now));
            }
            Ok(())
        }
        Command::Search { text, json, limit } => {
            let hits = store.search(&text, limit.clamp(1, 1000)).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&hits).expect("serializes")
                );
            } else {
                print!("{}", render::hits(&hits));
            }
            Ok(())
        }
    }
}

/// Reads the secrets named by `prompts`: one prompt each on a terminal, else one line
/// each from stdin.
fn read_secrets(prompts: &[String]) -> Result<Vec<Sensitive<String>>, String> {
    let lines: Vec<String> = if std::io::stdin().is_terminal() {
        prompts
            .iter()
            .map(|p| {
                rpassword::prompt_password(p).map_err(|e| format!("cannot read the secret: {e}"))
            })
            .collect::<Result<_, _>>()?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read the secrets from stdin: {e}"))?;
        s.lines().map(str::to_string).collect()
    };
    prompts
        .iter()
        .enumerate()
        .map(|(i, p)| match lines.get(i).map(|l| l.trim()) {
            Some(l) if !l.is_empty() => Ok(Sensitive::new(l.to_string())),
            _ => Err(format!("no value given for: {}", p.trim_end_matches(": "))),
        })
        .collect()
}

async fn add_account(store: &Store, a: AddArgs) -> Result<(), String> {
    if a.kind != "zendesk" {
        return Err(format!(
            "unknown account kind {:?}: only `zendesk` can be added for now",
            a.kind
        ));
    }
    let url = url_from(&a.url)?;
    let name = match a.name {
        Some(n) => n,
        None => url
            .host_str()
            .and_then(|h| h.split('.').next())
            .unwrap_or("zendesk")
            .to_string(),
    };
    let auth_kind = if a.oauth {
        AuthKind::Oauth
    } else {
        AuthKind::ApiToken
    };
    if auth_kind == AuthKind::ApiToken && a.email.is_none() {
        return Err("--email is required with an API token (or pass --oauth)".into());
    }
    if store.account(&name).await.is_ok() {
        return Err(format!(
            "an account named {name:?} already exists; pick another with --name"
        ));
    }
    let base = url.as_str().trim_end_matches('/').to_string();
    let mut prompts = vec![format!(
        "Zendesk {} for {}: ",
        if a.oauth { "OAuth token" } else { "API token" },
        a.email.as_deref().unwrap_or(&base)
    )];
    let sunco = a
        .sunco_app_id
        .clone()
        .zip(a.sunco_key_id.clone())
        .map(|(app_id, key_id)| baton_zendesk::SuncoSettings {
            app_id,
            key_id,
            base_url: a.sunco_url.clone(),
        });
    if let Some(sc) = &sunco {
        prompts.push(format!(
            "Sunshine Conversations secret for key {}: ",
            sc.key_id
        ));
    }
    let mut secrets = read_secrets(&prompts)?.into_iter();
    let secret = secrets.next().expect("one per prompt");
    let sunco_secret = secrets.next();
    let settings = baton_zendesk::Settings {
        sunco,
        ..Default::default()
    };
    let mut record = AccountRecord {
        id: name.clone(),
        kind: SourceKind::Zendesk,
        base_url: base.clone(),
        login: a.email,
        auth_kind,
        secret_ref: format!("zendesk:{name}"),
        settings: serde_json::to_value(&settings).expect("serializes"),
        me_id: None,
        created_at: chrono::Utc::now().timestamp_millis(),
    };
    // Check the credentials before keeping anything.
    let status = baton_core::sync::StatusHandle::new(
        &name,
        std::sync::Arc::new(baton_core::sync::SystemClock),
    );
    let feed = baton_zendesk::connect(&record, secret.clone(), None, status, 0)
        .map_err(|e| e.to_string())?;
    let (me_id, me_name) = baton_zendesk::whoami(feed.client())
        .await
        .map_err(|e| format!("could not add {name}: {e}"))?;
    record.me_id = Some(me_id);
    let keychain = Keychain::new(KEYCHAIN_SERVICE);
    let sunco_ref = format!("{}:sunco", record.secret_ref);
    let forget = || {
        let _ = keychain.delete(&record.secret_ref);
        let _ = keychain.delete(&sunco_ref);
    };
    keychain
        .put(&record.secret_ref, &secret)
        .map_err(|e| e.to_string())?;
    if let Some(s) = &sunco_secret {
        if let Err(e) = keychain.put(&sunco_ref, s) {
            forget();
            return Err(e.to_string());
        }
    }
    if let Err(err) = store.add_account(&record).await {
        forget();
        return Err(err.to_string());
    }
    println!("Added {name} ({base}) as {me_name}. Run `baton sync` to fetch the queue.");
    Ok(())
}

fn url_from(raw: &str) -> Result<url::Url, String> {
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("{raw:?} is not an http(s) URL"));
    }
    Ok(url)
}
