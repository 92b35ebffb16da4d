//! Desktops without a cache: each reads the team's stream over its own NATS connection
//! exactly as the engine's `Consumer` does (an ordered consumer from the latest record of
//! every conversation, each record's transcript parts fetched by subject, the records
//! decoded), and stops there: nothing is written. They give NATS and the relay the load
//! of N desktops while this machine's two cores write only the caches of the real ones.

use crate::desks::{now_ms, rep_login, Receipts, ACCOUNT};
use async_nats::jetstream::consumer;
use baton_core::CancellationToken;
use baton_engine::team::nats;
use baton_engine::team::records::{self, Record};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Reads until cancelled; `caught_up` is set once nothing was pending.
pub async fn read(
    name: String,
    nats_url: String,
    receipts: Arc<Mutex<Receipts>>,
    caught_up: Arc<AtomicBool>,
    cancel: CancellationToken,
) {
    let client = nats::connect(&rep_login(&nats_url), &name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let js = nats::jetstream(&client);
    let stream_name = nats::stream_name(ACCOUNT);
    let config = consumer::pull::OrderedConfig {
        filter_subject: records::conversations_filter(ACCOUNT),
        deliver_policy: consumer::DeliverPolicy::LastPerSubject,
        ..Default::default()
    };
    let created = js
        .create_consumer_on_stream(config, &stream_name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    if created.cached_info().num_pending == 0 {
        caught_up.store(true, Ordering::Relaxed);
    }
    let stream = js
        .get_stream_no_info(&stream_name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut messages = created
        .messages()
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            m = messages.next() => m,
        };
        let Some(Ok(m)) = next else {
            eprintln!("{name}: the team's stream ended or failed");
            return;
        };
        let pending = m.info().map(|i| i.pending).unwrap_or(1);
        let Ok(Record::Conversation(record)) = records::parse_record(&m.payload) else {
            continue;
        };
        let id = record.conversation.external_id.clone();
        let mut parts = vec![];
        for i in 0..record.parts {
            let subject = records::part_subject(ACCOUNT, &id, i);
            if let Ok(p) = stream.get_last_raw_message_by_subject(&subject).await {
                parts.extend(records::parse_part(&p.payload).ok());
            }
        }
        // Decoded as a desktop would before writing it.
        let _ = records::decode(*record, parts);
        receipts
            .lock()
            .expect("receipts")
            .entry(id)
            .or_default()
            .push(now_ms());
        if pending == 0 {
            caught_up.store(true, Ordering::Relaxed);
        }
    }
}
