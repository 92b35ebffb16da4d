//! MessagingSession change events as the Pub/Sub API delivers them: Avro binary datums
//! whose schema comes from `GetSchema`, decoded down to what the sync needs (which
//! records, what kind of change, when it committed, which fields changed).
//!
//! Over Pub/Sub a change event's unchanged fields are null and `changedFields` is a list
//! of hex bitmaps over the schema's fields (Change Data Capture Developer Guide, "Event
//! Message Structure"; forcedotcom/pub-sub-api `ChangeEventHeaderUtility.py`), so the
//! names are decoded here, with the schema the event was written with.

use apache_avro::schema::Schema;
use apache_avro::types::Value;
use baton_core::model::Millis;

/// What a change event says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
    Undelete,
    /// `GAP_*`: Salesforce could not produce the event's data (the record changed, but
    /// read it to know how).
    Gap,
    /// `GAP_OVERFLOW`: more changes in one transaction than events; no record ids.
    Overflow,
    Other(String),
}

impl ChangeKind {
    fn parse(s: &str) -> ChangeKind {
        match s {
            "CREATE" => ChangeKind::Create,
            "UPDATE" => ChangeKind::Update,
            "DELETE" => ChangeKind::Delete,
            "UNDELETE" => ChangeKind::Undelete,
            "GAP_OVERFLOW" => ChangeKind::Overflow,
            s if s.starts_with("GAP_") => ChangeKind::Gap,
            other => ChangeKind::Other(other.to_string()),
        }
    }
}

/// One decoded change event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub entity: String,
    pub record_ids: Vec<String>,
    pub kind: ChangeKind,
    /// `commitTimestamp`, Unix ms.
    pub committed_at: Option<Millis>,
    /// The fields the change touched, by API name (`Parent.Child` for compound fields).
    pub changed_fields: Vec<String>,
}

/// A payload that did not decode, or decoded to something that is no change event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Undecodable(pub String);

/// Parses the schema `GetSchema` returned.
pub fn parse_schema(json: &str) -> Result<Schema, Undecodable> {
    Schema::parse_str(json)
        .map_err(|e| Undecodable(format!("the event schema does not parse: {e}")))
}

/// Decodes one event's payload with the schema it was written with.
pub fn decode(schema: &Schema, payload: &[u8]) -> Result<ChangeEvent, Undecodable> {
    let mut reader = payload;
    let value = apache_avro::from_avro_datum(schema, &mut reader, None)
        .map_err(|e| Undecodable(format!("the payload is not Avro of its schema: {e}")))?;
    let Value::Record(fields) = value else {
        return Err(Undecodable("the payload is not a record".into()));
    };
    let header = fields
        .iter()
        .find(|(name, _)| name == "ChangeEventHeader")
        .map(|(_, v)| unwrap_union(v))
        .ok_or_else(|| Undecodable("the event has no ChangeEventHeader".into()))?;
    let Value::Record(header) = header else {
        return Err(Undecodable("ChangeEventHeader is not a record".into()));
    };
    let get = |name: &str| {
        header
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| unwrap_union(v))
    };
    let kind = match get("changeType") {
        Some(Value::Enum(_, s) | Value::String(s)) => ChangeKind::parse(s),
        _ => return Err(Undecodable("the header has no changeType".into())),
    };
    let record_ids = match get("recordIds") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| match unwrap_union(v) {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    let entity = match get("entityName") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let committed_at = match get("commitTimestamp") {
        Some(Value::Long(n) | Value::TimestampMillis(n)) => Some(*n),
        _ => None,
    };
    let bitmaps: Vec<String> = match get("changedFields") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| match unwrap_union(v) {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    Ok(ChangeEvent {
        entity,
        record_ids,
        kind,
        committed_at,
        changed_fields: field_names(schema, &bitmaps),
    })
}

fn unwrap_union(v: &Value) -> &Value {
    match v {
        Value::Union(_, inner) => inner,
        other => other,
    }
}

/// The field names a list of `changedFields` bitmaps stands for: `"0x…"` over the
/// top-level fields, `"N-0x…"` over the fields of compound field N. Bit 0 is the
/// first field. Bitmaps that do not read are left out (they name fields, not data).
pub fn field_names(schema: &Schema, bitmaps: &[String]) -> Vec<String> {
    let top = record_fields(schema);
    let mut out = vec![];
    for raw in bitmaps {
        let (parent, hex) = match raw.split_once('-') {
            Some((n, hex)) => match n.parse::<usize>() {
                Ok(n) => (Some(n), hex),
                Err(_) => continue,
            },
            None => (None, raw.as_str()),
        };
        let Some(bits) = bits(hex) else { continue };
        match parent {
            None => out.extend(
                bits.into_iter()
                    .filter_map(|i| top.get(i).map(|(name, _)| name.clone())),
            ),
            Some(n) => {
                let Some((pname, pschema)) = top.get(n) else {
                    continue;
                };
                let nested = record_fields(pschema);
                out.extend(
                    bits.into_iter()
                        .filter_map(|i| nested.get(i).map(|(name, _)| format!("{pname}.{name}"))),
                );
            }
        }
    }
    out
}

/// The set bits of a `0x…` hex number, least significant first.
fn bits(hex: &str) -> Option<Vec<usize>> {
    let digits = hex.strip_prefix("0x").or_else(|| hex.strip_prefix("0X"))?;
    let mut out = vec![];
    for (pos, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(16)? as usize;
        for b in 0..4 {
            if d & (1 << b) != 0 {
                out.push(pos * 4 + b);
            }
        }
    }
    Some(out)
}

/// A record's fields (through a `["null", record]` union), by name with their schemas.
fn record_fields(schema: &Schema) -> Vec<(String, Schema)> {
    match schema {
        Schema::Record(r) => r
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.schema.clone()))
            .collect(),
        Schema::Union(u) => u
            .variants()
            .iter()
            .map(record_fields)
            .find(|f| !f.is_empty())
            .unwrap_or_default(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Record;

    const SCHEMA: &str = r#"{"type":"record","name":"MessagingSessionChangeEvent","namespace":"com.sforce.eventbus","fields":[
      {"name":"ChangeEventHeader","type":{"type":"record","name":"ChangeEventHeader","namespace":"com.salesforce.eventbus","fields":[
        {"name":"entityName","type":"string"},
        {"name":"recordIds","type":{"type":"array","items":"string"}},
        {"name":"changeType","type":{"type":"enum","name":"ChangeType","symbols":["CREATE","UPDATE","DELETE","UNDELETE","GAP_CREATE","GAP_UPDATE","GAP_DELETE","GAP_UNDELETE","GAP_OVERFLOW"]}},
        {"name":"commitTimestamp","type":"long"},
        {"name":"changedFields","type":{"type":"array","items":"string"}}]}},
      {"name":"Status","type":["null","string"],"default":null},
      {"name":"OwnerId","type":["null","string"],"default":null},
      {"name":"Name","type":["null",{"type":"record","name":"Name","fields":[
        {"name":"FirstName","type":["null","string"],"default":null},
        {"name":"LastName","type":["null","string"],"default":null}]}],"default":null},
      {"name":"EndTime","type":["null","long"],"default":null}]}"#;

    fn payload(schema: &Schema, change: &str, changed: &[&str]) -> Vec<u8> {
        let Schema::Record(top) = schema else {
            panic!()
        };
        let header_schema = &top.fields[0].schema;
        let mut header = Record::new(header_schema).unwrap();
        header.put("entityName", "MessagingSession");
        header.put(
            "recordIds",
            Value::Array(vec![Value::String("0Mw000000000001AAA".into())]),
        );
        let symbols = [
            "CREATE",
            "UPDATE",
            "DELETE",
            "UNDELETE",
            "GAP_CREATE",
            "GAP_UPDATE",
            "GAP_DELETE",
            "GAP_UNDELETE",
            "GAP_OVERFLOW",
        ];
        let idx = symbols.iter().position(|s| *s == change).unwrap() as u32;
        header.put("changeType", Value::Enum(idx, change.into()));
        header.put("commitTimestamp", Value::Long(1_795_000_000_123));
        header.put(
            "changedFields",
            Value::Array(
                changed
                    .iter()
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
        );
        let mut rec = Record::new(schema).unwrap();
        rec.put("ChangeEventHeader", header);
        rec.put(
            "Status",
            Value::Union(1, Box::new(Value::String("Ended".into()))),
        );
        rec.put("OwnerId", Value::Union(0, Box::new(Value::Null)));
        rec.put("Name", Value::Union(0, Box::new(Value::Null)));
        rec.put(
            "EndTime",
            Value::Union(1, Box::new(Value::Long(1_795_000_000_000))),
        );
        apache_avro::to_avro_datum(schema, rec).unwrap()
    }

    #[test]
    fn an_update_decodes_with_the_fields_its_bitmap_names() {
        let schema = parse_schema(SCHEMA).unwrap();
        // Bits 1 (Status) and 4 (EndTime); compound field 3 (Name): its bit 1 (LastName).
        let bytes = payload(&schema, "UPDATE", &["0x12", "3-0x02"]);
        let e = decode(&schema, &bytes).unwrap();
        assert_eq!(e.kind, ChangeKind::Update);
        assert_eq!(e.entity, "MessagingSession");
        assert_eq!(e.record_ids, vec!["0Mw000000000001AAA".to_string()]);
        assert_eq!(e.committed_at, Some(1_795_000_000_123));
        assert_eq!(e.changed_fields, vec!["Status", "EndTime", "Name.LastName"]);
    }

    #[test]
    fn change_types_are_read() {
        let schema = parse_schema(SCHEMA).unwrap();
        for (raw, kind) in [
            ("CREATE", ChangeKind::Create),
            ("DELETE", ChangeKind::Delete),
            ("UNDELETE", ChangeKind::Undelete),
            ("GAP_UPDATE", ChangeKind::Gap),
            ("GAP_OVERFLOW", ChangeKind::Overflow),
        ] {
            let e = decode(&schema, &payload(&schema, raw, &[])).unwrap();
            assert_eq!(e.kind, kind, "{raw}");
        }
    }

    #[test]
    fn bad_payloads_and_bitmaps_are_said_not_guessed() {
        let schema = parse_schema(SCHEMA).unwrap();
        assert!(decode(&schema, &[0xff, 0xff, 0xff]).is_err());
        assert!(decode(&schema, &[]).is_err());
        assert!(parse_schema("{not json").is_err());
        // Unreadable bitmaps name nothing; a bit past the last field is ignored.
        assert!(field_names(&schema, &["zz".into(), "0xZZ".into(), "x-0x1".into()]).is_empty());
        assert_eq!(field_names(&schema, &["0x0102".into()]), vec!["Status"]);
    }

    #[test]
    fn a_schema_without_a_header_is_refused() {
        let schema =
            parse_schema(r#"{"type":"record","name":"X","fields":[{"name":"a","type":"string"}]}"#)
                .unwrap();
        let mut rec = Record::new(&schema).unwrap();
        rec.put("a", "b");
        let bytes = apache_avro::to_avro_datum(&schema, rec).unwrap();
        let err = decode(&schema, &bytes).unwrap_err();
        assert!(err.0.contains("ChangeEventHeader"), "{err}");
    }
}
