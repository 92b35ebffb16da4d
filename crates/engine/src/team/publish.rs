//! The relay's side of a team's stream: what its sync wrote (queued in the same
//! transaction) goes out as records, each conversation read whole from the relay's cache,
//! and leaves the queue only when JetStream has acknowledged it.

use super::lease::HeldUntil;
use super::nats::{nats_error, stream_name};
use super::records::{self, Record};
use crate::error::Result;
use async_nats::jetstream::{self, stream};
use baton_core::Store;
use std::collections::{BTreeMap, HashMap};

/// Conversations read from the queue per round.
const ROUND: i64 = 200;

/// A stream per account: the latest value of each record (older ones are dropped), no
/// message larger than 1 MiB, kept on disk, replicated as the team's NATS allows.
pub fn stream_config(account: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: stream_name(account),
        subjects: vec![format!("baton.{account}.>")],
        max_messages_per_subject: 1,
        max_message_size: 1024 * 1024,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    }
}

pub async fn ensure_stream(js: &jetstream::Context, account: &str, replicas: usize) -> Result<()> {
    js.create_or_update_stream(stream_config(account, replicas))
        .await
        .map_err(|e| nats_error(&format!("creating the stream for {account}"), e))?;
    Ok(())
}

/// What this relay last published of each conversation, by a hash of its record: the
/// export reads again tickets a webhook already brought, and a conversation that did not
/// change is not published (and written by every desktop) a second time.
pub type Published = HashMap<(String, String), u64>;

/// Publishes everything queued, while `held` says the lease is this relay's; returns how
/// many conversations went out.
pub async fn publish_queued(
    js: &jetstream::Context,
    store: &Store,
    publication: &str,
    held: &HeldUntil,
    published: &mut Published,
) -> Result<usize> {
    let mut sent = 0;
    loop {
        let queued = store.unpublished(ROUND).await?;
        let Some(last) = queued.last().map(|q| q.seq) else {
            return Ok(sent);
        };
        // A conversation queued twice goes out once, as it is now.
        let unique: BTreeMap<(String, String), ()> = queued
            .into_iter()
            .map(|q| ((q.account_id, q.external_id), ()))
            .collect();
        let mut acks = vec![];
        // One name per round, never reused: parts of two rounds are never joined.
        let round = format!("{publication}.{last}.{:08x}", rand::random::<u32>());
        let mut hashes = vec![];
        for (account, external_id) in unique.keys() {
            held.check()?;
            let subject = records::conversation_subject(account, external_id);
            let key = (account.clone(), external_id.clone());
            let record = match store.snapshot(account, external_id).await? {
                Some(snapshot) => {
                    // Encoded once: hashed without a publication name, then named.
                    let (mut parts, mut record) = records::encode(&snapshot, "");
                    let hash = content_hash(&record, &parts);
                    if published.get(&key) == Some(&hash) {
                        continue;
                    }
                    hashes.push((key, Some(hash)));
                    record.publication = round.clone();
                    for part in &mut parts {
                        part.publication = round.clone();
                    }
                    // Parts first: on one connection JetStream stores them in this order,
                    // so a reader that sees the record finds its parts already there.
                    for part in &parts {
                        let payload = serde_json::to_vec(part).expect("records serialize");
                        let part_subject = records::part_subject(account, external_id, part.index);
                        acks.push(publish(js, part_subject, payload).await?);
                    }
                    Record::Conversation(Box::new(record))
                }
                None => {
                    hashes.push((key, None));
                    // Its parts go too: nothing of a deleted conversation stays.
                    let parts = format!("baton.{account}.part.{}.>", records::token(external_id));
                    let stream = js
                        .get_stream_no_info(stream_name(account))
                        .await
                        .map_err(|e| nats_error("the team's stream", e))?;
                    stream
                        .purge()
                        .filter(parts)
                        .await
                        .map_err(|e| nats_error("removing a deleted conversation's parts", e))?;
                    Record::Deleted {
                        schema: records::SCHEMA,
                        external_id: external_id.clone(),
                    }
                }
            };
            let payload = serde_json::to_vec(&record).expect("records serialize");
            acks.push(publish(js, subject, payload).await?);
            sent += 1;
        }
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack.map_err(|e| nats_error("the team's stream did not take a record", e))?;
        }
        store.published(last).await?;
        for (key, hash) in hashes {
            match hash {
                Some(h) => published.insert(key, h),
                None => published.remove(&key),
            };
        }
    }
}

/// The record's content, whatever publication it would be part of (encoded without one).
fn content_hash(record: &records::ConversationRecord, parts: &[records::PartRecord]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(record)
        .expect("records serialize")
        .hash(&mut h);
    for p in parts {
        serde_json::to_vec(p)
            .expect("records serialize")
            .hash(&mut h);
    }
    h.finish()
}

async fn publish(
    js: &jetstream::Context,
    subject: String,
    payload: Vec<u8>,
) -> Result<jetstream::context::PublishAckFuture> {
    js.publish(subject, payload.into())
        .await
        .map_err(|e| nats_error("publishing to the team's stream", e))
}
