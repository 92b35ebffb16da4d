//! The Avro schema of MessagingSession change events and their payloads, as the Pub/Sub API
//! serves them: a `ChangeEventHeader` record first, then one nullable field per
//! MessagingSession field (routing-attribute custom fields included). Unchanged fields are
//! null; `changedFields` is a hex bitmap of the schema's top-level fields.

use super::org::{schema, Change, ChangeType, FieldDef, Kind, Object, RoutingFields, Val};
use apache_avro::types::Value;
use apache_avro::Schema;
use sha2::{Digest, Sha256};

/// Who made the change, as Salesforce writes `changeOrigin` for an API client.
pub const CHANGE_ORIGIN: &str = "com/salesforce/api/soap/62.0;client=baton-sim";

/// `ChangeEventHeader.changeType`'s symbols, in Salesforce's order.
const CHANGE_TYPES: [&str; 9] = [
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

/// The header record, in Salesforce's shape (`com.salesforce.eventbus.ChangeEventHeader`).
const HEADER_SCHEMA: &str = r#"{"type":"record","name":"ChangeEventHeader","namespace":"com.salesforce.eventbus","fields":[{"name":"entityName","type":"string"},{"name":"recordIds","type":{"type":"array","items":"string"}},{"name":"changeType","type":{"type":"enum","name":"ChangeType","namespace":"com.salesforce.eventbus","symbols":["CREATE","UPDATE","DELETE","UNDELETE","GAP_CREATE","GAP_UPDATE","GAP_DELETE","GAP_UNDELETE","GAP_OVERFLOW"]}},{"name":"changeOrigin","type":"string"},{"name":"transactionKey","type":"string"},{"name":"sequenceNumber","type":"int"},{"name":"commitTimestamp","type":"long"},{"name":"commitNumber","type":"long"},{"name":"commitUser","type":"string"},{"name":"nulledFields","type":{"type":"array","items":"string"}},{"name":"diffFields","type":{"type":"array","items":"string"}},{"name":"changedFields","type":{"type":"array","items":"string"}}]}"#;

/// The MessagingSessionChangeEvent schema of one org, parsed, with its JSON and id.
#[derive(Debug)]
pub struct EventSchema {
    json: String,
    id: String,
    schema: Schema,
    /// The record's fields after the header, in schema order (top-level index `i + 1`).
    fields: Vec<FieldDef>,
}

impl EventSchema {
    /// The schema for an org whose routing attributes land in `routing`'s fields; an error
    /// when a field name is not a valid Avro name.
    pub fn new(routing: &RoutingFields) -> Result<Self, String> {
        // The record id travels in the header's `recordIds`.
        let fields: Vec<FieldDef> = schema(Object::MessagingSession, routing)
            .into_iter()
            .filter(|f| f.name != "Id")
            .collect();
        let data: Vec<String> = fields
            .iter()
            .map(|f| {
                let name = serde_json::to_string(&f.name).expect("a string serializes");
                format!(
                    r#"{{"name":{name},"type":["null","{}"],"default":null}}"#,
                    avro_type(f.kind)
                )
            })
            .collect();
        let json = format!(
            r#"{{"type":"record","name":"MessagingSessionChangeEvent","namespace":"com.sforce.eventbus","fields":[{{"name":"ChangeEventHeader","type":{HEADER_SCHEMA}}},{}]}}"#,
            data.join(",")
        );
        let schema = Schema::parse_str(&json)
            .map_err(|e| format!("the change event schema is not valid Avro: {e}"))?;
        // Stable across runs: the same fields give the same id.
        let digest = Sha256::digest(json.as_bytes());
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            json,
            id,
            schema,
            fields,
        })
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    #[cfg(test)]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The top-level index of a field (the header is 0), in any case.
    fn index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
            .map(|i| i + 1)
    }

    /// The `changedFields`-style bitmap of these fields; `None` when none is in the schema.
    pub fn bitmap<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
        bitmap(names.into_iter().filter_map(|n| self.index(n)))
    }

    /// The change as an Avro datum (no container header) of this schema.
    pub fn encode(&self, change: &Change) -> Vec<u8> {
        let update = change.change_type == ChangeType::Update;
        let list = |v: Option<String>| Value::Array(v.into_iter().map(Value::String).collect());
        let (changed, nulled) = if update {
            let nulled = change
                .values
                .iter()
                .filter(|(_, v)| *v == Val::Null)
                .map(|(n, _)| n.as_str());
            (
                self.bitmap(change.changed_fields.iter().map(String::as_str)),
                self.bitmap(nulled),
            )
        } else {
            // As Salesforce: a CREATE names no changed fields; every non-null one is set.
            (None, None)
        };
        let change_type = match change.change_type {
            ChangeType::Create => 0,
            ChangeType::Update => 1,
        };
        let header = Value::Record(vec![
            ("entityName".into(), Value::String(change.entity.into())),
            (
                "recordIds".into(),
                Value::Array(vec![Value::String(change.record_id.clone())]),
            ),
            (
                "changeType".into(),
                Value::Enum(change_type, CHANGE_TYPES[change_type as usize].into()),
            ),
            ("changeOrigin".into(), Value::String(CHANGE_ORIGIN.into())),
            (
                "transactionKey".into(),
                Value::String(change.transaction_key.clone()),
            ),
            (
                "sequenceNumber".into(),
                Value::Int(change.sequence_number as i32),
            ),
            (
                "commitTimestamp".into(),
                Value::Long(change.commit_timestamp.timestamp_millis()),
            ),
            ("commitNumber".into(), Value::Long(change.replay_id as i64)),
            (
                "commitUser".into(),
                Value::String(change.commit_user.clone()),
            ),
            ("nulledFields".into(), list(nulled)),
            ("diffFields".into(), Value::Array(vec![])),
            ("changedFields".into(), list(changed)),
        ]);
        let mut record = vec![("ChangeEventHeader".to_string(), header)];
        record.extend(self.fields.iter().map(|f| {
            let given = change
                .values
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&f.name))
                .map(|(_, v)| v);
            let value = given.map_or(Value::Null, |v| avro_value(f.kind, v));
            let branch = match value {
                Value::Null => Value::Union(0, Box::new(Value::Null)),
                v => Value::Union(1, Box::new(v)),
            };
            (f.name.clone(), branch)
        }));
        apache_avro::to_avro_datum(&self.schema, Value::Record(record))
            .expect("every field is filled with a value of its own type")
    }
}

/// The Avro type of a field's non-null values: DateTimes as Unix milliseconds.
fn avro_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Id | Kind::Text | Kind::Picklist => "string",
        Kind::DateTime | Kind::Int => "long",
        Kind::Bool => "boolean",
    }
}

/// A value as its field's Avro type holds it; null when it cannot.
fn avro_value(kind: Kind, v: &Val) -> Value {
    match (avro_type(kind), v) {
        (_, Val::Null) => Value::Null,
        ("string", Val::Str(s)) => Value::String(s.clone()),
        ("string", Val::Time(t)) => Value::String(super::org::time(*t)),
        ("string", Val::Bool(b)) => Value::String(b.to_string()),
        ("string", Val::Int(n)) => Value::String(n.to_string()),
        ("long", Val::Time(t)) => Value::Long(t.timestamp_millis()),
        ("long", Val::Int(n)) => Value::Long(*n),
        ("boolean", Val::Bool(b)) => Value::Boolean(*b),
        _ => Value::Null,
    }
}

/// Salesforce's field bitmap: `0x` and upper-case hex digits, big-endian, whole bytes; bit
/// `i` (bit 0 the least significant) set for field `i`. `None` for no fields.
pub fn bitmap(indices: impl IntoIterator<Item = usize>) -> Option<String> {
    let indices: Vec<usize> = indices.into_iter().collect();
    let top = *indices.iter().max()?;
    let mut bytes = vec![0u8; top / 8 + 1];
    let len = bytes.len();
    for i in indices {
        bytes[len - 1 - i / 8] |= 1 << (i % 8);
    }
    Some(format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn schema() -> EventSchema {
        EventSchema::new(&RoutingFields::default()).unwrap()
    }

    fn update(fields: &[(&str, Val)]) -> Change {
        Change {
            replay_id: 42,
            entity: "MessagingSession",
            record_id: "0Mw000000000101AAA".into(),
            change_type: ChangeType::Update,
            changed_fields: fields.iter().map(|(n, _)| n.to_string()).collect(),
            values: fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
            commit_timestamp: Utc.timestamp_millis_opt(1_790_000_000_123).unwrap(),
            commit_user: "005000000000102AAA".into(),
            transaction_key: "0000002a-0000-4000-8000-00000000002a".into(),
            sequence_number: 1,
        }
    }

    fn fields(v: Value) -> Vec<(String, Value)> {
        match v {
            Value::Record(f) => f,
            other => panic!("not a record: {other:?}"),
        }
    }

    fn get<'a>(record: &'a [(String, Value)], name: &str) -> &'a Value {
        &record.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn the_header_comes_first_then_every_field_but_the_id_nullable() {
        let s = schema();
        let json: serde_json::Value = serde_json::from_str(s.json()).unwrap();
        assert_eq!(json["name"], "MessagingSessionChangeEvent");
        assert_eq!(json["namespace"], "com.sforce.eventbus");
        let fields = json["fields"].as_array().unwrap();
        assert_eq!(fields[0]["name"], "ChangeEventHeader");
        let header = &fields[0]["type"];
        assert_eq!(header["name"], "ChangeEventHeader");
        assert_eq!(header["namespace"], "com.salesforce.eventbus");
        let names: Vec<&str> = header["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "entityName",
                "recordIds",
                "changeType",
                "changeOrigin",
                "transactionKey",
                "sequenceNumber",
                "commitTimestamp",
                "commitNumber",
                "commitUser",
                "nulledFields",
                "diffFields",
                "changedFields"
            ]
        );
        assert_eq!(header["fields"][2]["type"]["name"], "ChangeType");
        assert_eq!(
            header["fields"][2]["type"]["symbols"]
                .as_array()
                .unwrap()
                .len(),
            9
        );
        assert!(!fields.iter().any(|f| f["name"] == "Id"));
        assert_eq!(fields[1]["name"], "Name");
        assert_eq!(fields[1]["type"], serde_json::json!(["null", "string"]));
        assert_eq!(fields[1]["default"], serde_json::Value::Null);
        let of = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap()["type"][1].clone();
        assert_eq!(of("StartTime"), "long");
        assert_eq!(of("IsDeleted"), "boolean");
        assert_eq!(of("OpencxSessionId__c"), "string");
        // The id names the fields, and only them.
        assert_eq!(s.id(), schema().id());
        assert_eq!(s.id().len(), 16);
        let other = RoutingFields {
            session_id: "Other__c".into(),
            ..RoutingFields::default()
        };
        assert_ne!(EventSchema::new(&other).unwrap().id(), s.id());
    }

    #[test]
    fn a_bad_field_name_is_refused() {
        let bad = RoutingFields {
            session_id: "Not a name".into(),
            ..RoutingFields::default()
        };
        assert!(EventSchema::new(&bad)
            .unwrap_err()
            .contains("not valid Avro"));
    }

    #[test]
    fn bitmaps_are_big_endian_whole_bytes_in_upper_case() {
        assert_eq!(bitmap([]), None);
        assert_eq!(bitmap([1, 2]), Some("0x06".into()));
        assert_eq!(bitmap([8]), Some("0x0100".into()));
        assert_eq!(bitmap([5, 6, 7, 10, 26, 29, 30]), Some("0x640004E0".into()));
    }

    #[test]
    fn an_update_sets_its_bits_and_only_its_values() {
        let s = schema();
        let at = Utc.timestamp_millis_opt(1_790_000_000_000).unwrap();
        let change = update(&[
            ("Status", Val::str("Active")),
            ("CaseId", Val::Null),
            ("LastModifiedDate", Val::Time(at)),
            ("LastModifiedById", Val::str("005000000000102AAA")),
            ("SystemModstamp", Val::Time(at)),
        ]);
        // Name 1, Status 2, … CaseId 13, … LastModifiedDate 22, LastModifiedById 23,
        // SystemModstamp 24.
        assert_eq!(
            s.bitmap(change.changed_fields.iter().map(String::as_str)),
            Some("0x01C02004".into())
        );
        let bytes = s.encode(&change);
        let decoded =
            apache_avro::from_avro_datum(s.schema(), &mut bytes.as_slice(), None).unwrap();
        let record = fields(decoded);
        assert_eq!(record[0].0, "ChangeEventHeader");
        let header = fields(record[0].1.clone());
        assert_eq!(
            get(&header, "entityName"),
            &Value::String("MessagingSession".into())
        );
        assert_eq!(
            get(&header, "recordIds"),
            &Value::Array(vec![Value::String("0Mw000000000101AAA".into())])
        );
        assert_eq!(get(&header, "changeType"), &Value::Enum(1, "UPDATE".into()));
        assert_eq!(
            get(&header, "changedFields"),
            &Value::Array(vec![Value::String("0x01C02004".into())])
        );
        assert_eq!(
            get(&header, "nulledFields"),
            &Value::Array(vec![Value::String("0x2000".into())])
        );
        assert_eq!(get(&header, "commitNumber"), &Value::Long(42));
        assert_eq!(
            get(&header, "commitTimestamp"),
            &Value::Long(1_790_000_000_123)
        );
        assert_eq!(get(&header, "sequenceNumber"), &Value::Int(1));
        assert_eq!(
            get(&record, "Status"),
            &Value::Union(1, Box::new(Value::String("Active".into())))
        );
        assert_eq!(
            get(&record, "SystemModstamp"),
            &Value::Union(1, Box::new(Value::Long(1_790_000_000_000)))
        );
        for unchanged in [
            "Name",
            "CaseId",
            "OwnerId",
            "IsDeleted",
            "OpencxSessionId__c",
        ] {
            assert_eq!(
                get(&record, unchanged),
                &Value::Union(0, Box::new(Value::Null)),
                "{unchanged}"
            );
        }
    }

    #[test]
    fn a_create_carries_every_value_and_no_changed_fields() {
        let s = schema();
        let at = Utc.timestamp_millis_opt(1_790_000_000_000).unwrap();
        let mut change = update(&[
            ("Id", Val::str("0Mw000000000101AAA")),
            ("Name", Val::str("MS-0001")),
            ("IsDeleted", Val::Bool(false)),
            ("StartTime", Val::Time(at)),
            ("OpencxSessionId__c", Val::str("sess-1")),
        ]);
        change.change_type = ChangeType::Create;
        let bytes = s.encode(&change);
        let record =
            fields(apache_avro::from_avro_datum(s.schema(), &mut bytes.as_slice(), None).unwrap());
        let header = fields(record[0].1.clone());
        assert_eq!(get(&header, "changeType"), &Value::Enum(0, "CREATE".into()));
        assert_eq!(get(&header, "changedFields"), &Value::Array(vec![]));
        assert_eq!(get(&header, "nulledFields"), &Value::Array(vec![]));
        assert_eq!(
            get(&record, "Name"),
            &Value::Union(1, Box::new(Value::String("MS-0001".into())))
        );
        assert_eq!(
            get(&record, "IsDeleted"),
            &Value::Union(1, Box::new(Value::Boolean(false)))
        );
        assert_eq!(
            get(&record, "OpencxSessionId__c"),
            &Value::Union(1, Box::new(Value::String("sess-1".into())))
        );
        assert_eq!(
            get(&record, "Status"),
            &Value::Union(0, Box::new(Value::Null))
        );
    }
}
