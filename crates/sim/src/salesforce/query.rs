//! Runs a parsed SOQL query over the org: checks names and value types as Salesforce does
//! (`INVALID_TYPE`, `INVALID_FIELD`, `INVALID_QUERY_FILTER_OPERATOR`), filters, sorts,
//! and renders records with their `attributes`; and keeps the rest of a large result
//! behind a query locator (`nextRecordsUrl`).

use super::ids;
use super::org::{schema, FieldDef, Kind, Object, Org, Record, Val};
use super::soql::{error_at, Cond, InList, Lit, Op, Path, Query, SoqlError};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

/// A field path made sense of: a field of the record, or of the record one lookup away.
#[derive(Debug, Clone)]
struct Resolved {
    /// (relationship name, the id field it follows, polymorphic).
    rel: Option<(&'static str, &'static str, bool)>,
    field: String,
    kind: Kind,
}

/// The fields the polymorphic `Owner` (a User or a queue) offers.
fn owner_schema() -> Vec<FieldDef> {
    [
        ("Id", Kind::Id),
        ("Name", Kind::Text),
        ("Type", Kind::Picklist),
    ]
    .into_iter()
    .map(|(n, kind)| FieldDef {
        name: n.into(),
        kind,
    })
    .collect()
}

struct Ctx<'a> {
    org: &'a Org,
    text: &'a str,
}

impl Ctx<'_> {
    fn field(&self, object: Object, path: &Path) -> Result<Resolved, SoqlError> {
        let no_column = |name: &str, on: &str| {
            error_at(
                self.text,
                path.pos,
                "INVALID_FIELD",
                &format!("No such column '{name}' on entity '{on}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."),
            )
        };
        let find = |fields: Vec<FieldDef>, name: &str| {
            fields
                .into_iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
        };
        let parts: Vec<&str> = path.text.split('.').collect();
        match parts.as_slice() {
            [name] => find(schema(object, &self.org.routing), name)
                .map(|f| Resolved {
                    rel: None,
                    field: f.name,
                    kind: f.kind,
                })
                .ok_or_else(|| no_column(name, object.name())),
            [rel, name] => {
                let Some((rel, id_field)) = object
                    .relationships()
                    .iter()
                    .find(|(r, _)| r.eq_ignore_ascii_case(rel))
                    .copied()
                else {
                    return Err(self.no_relationship(path, rel));
                };
                let (fields, on, poly) = match rel {
                    "Owner" => (owner_schema(), "Name", true),
                    "Conversation" => (
                        schema(Object::Conversation, &self.org.routing),
                        "Conversation",
                        false,
                    ),
                    "MessagingEndUser" => (
                        schema(Object::MessagingEndUser, &self.org.routing),
                        "MessagingEndUser",
                        false,
                    ),
                    _ => (schema(Object::Group, &self.org.routing), "Group", false),
                };
                find(fields, name)
                    .map(|f| Resolved {
                        rel: Some((rel, id_field, poly)),
                        field: f.name,
                        kind: f.kind,
                    })
                    .ok_or_else(|| no_column(name, on))
            }
            [rel, ..] => Err(self.no_relationship(path, rel)),
            [] => Err(no_column("", object.name())),
        }
    }

    fn no_relationship(&self, path: &Path, rel: &str) -> SoqlError {
        error_at(
            self.text,
            path.pos,
            "INVALID_FIELD",
            &format!("Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
        )
    }

    /// Checks a literal against the field it is compared with.
    fn literal(&self, r: &Resolved, lit: &Lit, pos: usize) -> Result<(), SoqlError> {
        let wrong = |what: &str| {
            Err(error_at(
                self.text,
                pos,
                "INVALID_FIELD",
                &format!(
                    "value of filter criterion for field '{}' must be of type {what}",
                    r.field
                ),
            ))
        };
        match (r.kind, lit) {
            (_, Lit::Null) => Ok(()),
            (Kind::Id, Lit::Str(s)) if ids::long(s).is_none() => Err(error_at(
                self.text,
                pos,
                "INVALID_QUERY_FILTER_OPERATOR",
                &format!("invalid ID field: {s}"),
            )),
            (Kind::Id | Kind::Text | Kind::Picklist, Lit::Str(_)) => Ok(()),
            (Kind::Id | Kind::Text | Kind::Picklist, _) => {
                wrong("string and should be enclosed in quotes")
            }
            (Kind::DateTime, Lit::DateTime(_)) => Ok(()),
            (Kind::DateTime, _) => wrong("dateTime and should not be enclosed in quotes"),
            (Kind::Bool, Lit::Bool(_)) => Ok(()),
            (Kind::Bool, _) => wrong("boolean and should not be enclosed in quotes"),
            (Kind::Int, Lit::Num(_)) => Ok(()),
            (Kind::Int, _) => wrong("int and should not be enclosed in quotes"),
        }
    }

    /// Checks a condition and makes it something to test records with.
    fn condition(&self, object: Object, c: &Cond) -> Result<Test, SoqlError> {
        Ok(match c {
            Cond::And(cs) => Test::All(
                cs.iter()
                    .map(|c| self.condition(object, c))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(cs) => Test::Any(
                cs.iter()
                    .map(|c| self.condition(object, c))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(c) => Test::Not(Box::new(self.condition(object, c)?)),
            Cond::Cmp {
                field,
                op,
                value,
                pos,
            } => {
                let r = self.field(object, field)?;
                self.literal(&r, value, *pos)?;
                Test::Cmp(r, *op, value.clone())
            }
            Cond::Like { field, pattern } => {
                let r = self.field(object, field)?;
                if !matches!(r.kind, Kind::Text | Kind::Picklist) {
                    return Err(error_at(
                        self.text,
                        field.pos,
                        "INVALID_QUERY_FILTER_OPERATOR",
                        &format!("invalid operator on {} field: LIKE", r.field),
                    ));
                }
                Test::Like(r, pattern.clone())
            }
            Cond::In {
                field,
                negated,
                list,
            } => {
                let r = self.field(object, field)?;
                let values = match list {
                    InList::Values(values) => {
                        for (v, pos) in values {
                            self.literal(&r, v, *pos)?;
                        }
                        values.iter().map(|(v, _)| v.clone()).collect()
                    }
                    InList::Sub(sub) => self.semi_join(sub)?,
                };
                Test::In(r, *negated, values)
            }
        })
    }

    /// The ids a semi-join subquery selects (`SELECT GroupId FROM GroupMember WHERE …`).
    fn semi_join(&self, sub: &Query) -> Result<Vec<Lit>, SoqlError> {
        let object = self.object(&sub.object)?;
        let [field] = sub.fields.as_slice() else {
            return Err(error_at(
                self.text,
                sub.fields[1].pos,
                "MALFORMED_QUERY",
                "semi join sub-selects can only query one field",
            ));
        };
        let r = self.field(object, field)?;
        if r.kind != Kind::Id || r.rel.is_some() || !sub.order.is_empty() || sub.limit.is_some() {
            return Err(error_at(
                self.text,
                field.pos,
                "MALFORMED_QUERY",
                "semi join sub-selects can only query an id field, without ORDER BY or LIMIT",
            ));
        }
        let test = match &sub.filter {
            Some(c) => Some(self.condition(object, c)?),
            None => None,
        };
        Ok(self
            .org
            .all(object)
            .filter(|rec| test.as_ref().is_none_or(|t| t.passes(self.org, rec)))
            .map(|rec| match value(self.org, rec, &r) {
                Val::Str(s) => Lit::Str(s),
                _ => Lit::Null,
            })
            .collect())
    }

    fn object(&self, path: &Path) -> Result<Object, SoqlError> {
        Object::parse(&path.text).ok_or_else(|| {
            error_at(
                self.text,
                path.pos,
                "INVALID_TYPE",
                &format!("sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", path.text),
            )
        })
    }
}

enum Test {
    All(Vec<Test>),
    Any(Vec<Test>),
    Not(Box<Test>),
    Cmp(Resolved, Op, Lit),
    Like(Resolved, String),
    In(Resolved, bool, Vec<Lit>),
}

impl Test {
    fn passes(&self, org: &Org, rec: &Record) -> bool {
        match self {
            Test::All(ts) => ts.iter().all(|t| t.passes(org, rec)),
            Test::Any(ts) => ts.iter().any(|t| t.passes(org, rec)),
            Test::Not(t) => !t.passes(org, rec),
            Test::Cmp(r, op, lit) => {
                let v = value(org, rec, r);
                match (op, lit, &v) {
                    (Op::Eq, Lit::Null, _) => v == Val::Null,
                    (Op::Ne, Lit::Null, _) => v != Val::Null,
                    (_, _, Val::Null) => *op == Op::Ne,
                    _ => compare(r.kind, &v, lit).is_some_and(|o| match op {
                        Op::Eq => o == Ordering::Equal,
                        Op::Ne => o != Ordering::Equal,
                        Op::Lt => o == Ordering::Less,
                        Op::Le => o != Ordering::Greater,
                        Op::Gt => o == Ordering::Greater,
                        Op::Ge => o != Ordering::Less,
                    }),
                }
            }
            Test::Like(r, pattern) => match value(org, rec, r) {
                Val::Str(s) => like(&s, pattern),
                _ => false,
            },
            Test::In(r, negated, lits) => {
                let v = value(org, rec, r);
                let found = lits.iter().any(|l| match (l, &v) {
                    (Lit::Null, Val::Null) => true,
                    (_, Val::Null) | (Lit::Null, _) => false,
                    _ => compare(r.kind, &v, l) == Some(Ordering::Equal),
                });
                found != *negated
            }
        }
    }
}

/// A record's value for a resolved path (following the lookup for a relationship).
fn value(org: &Org, rec: &Record, r: &Resolved) -> Val {
    let Some((_, id_field, poly)) = r.rel else {
        return rec.get(&r.field).cloned().unwrap_or(Val::Null);
    };
    let Some(target) = rec.text(id_field).and_then(|id| org.record(id)) else {
        return Val::Null;
    };
    if poly && r.field == "Type" {
        return Val::str(if target.object == Object::User {
            "User"
        } else {
            "Queue"
        });
    }
    target.get(&r.field).cloned().unwrap_or(Val::Null)
}

/// Compares a record's (non-null) value with a literal as SOQL does: text without regard
/// to case, ids in their 15- or 18-character forms.
fn compare(kind: Kind, v: &Val, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Val::Str(a), Lit::Str(b)) if kind == Kind::Id => Some(if ids::same(a, b) {
            Ordering::Equal
        } else {
            a.as_str().cmp(&ids::long(b)?)
        }),
        (Val::Str(a), Lit::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Val::Time(a), Lit::DateTime(b)) => Some(a.cmp(b)),
        (Val::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (Val::Int(a), Lit::Num(b)) => (*a as f64).partial_cmp(b),
        _ => None,
    }
}

/// SOQL's LIKE: `%` any run, `_` one character, `\%` and `\_` themselves; any case.
fn like(s: &str, pattern: &str) -> bool {
    let s: Vec<char> = s.to_lowercase().chars().collect();
    let mut p: Vec<(char, bool)> = vec![];
    let mut chars = pattern
        .to_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .into_iter();
    while let Some(c) = chars.next() {
        match c {
            '\\' => p.extend(chars.next().map(|e| (e, true))),
            c => p.push((c, false)),
        }
    }
    fn go(s: &[char], p: &[(char, bool)]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(('%', false)) => (0..=s.len()).any(|k| go(&s[k..], &p[1..])),
            Some(('_', false)) => !s.is_empty() && go(&s[1..], &p[1..]),
            Some((c, _)) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    go(&s, &p)
}

fn order(kind: Kind, a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) if kind != Kind::Id => x.to_lowercase().cmp(&y.to_lowercase()),
        (Val::Str(x), Val::Str(y)) => x.cmp(y),
        (Val::Time(x), Val::Time(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Runs `query` (the text, for error messages) over the org; the records as the REST API
/// renders them, their `attributes.url` naming API `version` (`v62.0`).
pub(crate) fn run(
    org: &Org,
    q: &Query,
    text: &str,
    version: &str,
) -> Result<Vec<Value>, SoqlError> {
    let ctx = Ctx { org, text };
    let object = ctx.object(&q.object)?;
    let mut fields: Vec<Resolved> = vec![];
    for path in &q.fields {
        let r = ctx.field(object, path)?;
        if fields
            .iter()
            .any(|f| f.field == r.field && f.rel.map(|x| x.0) == r.rel.map(|x| x.0))
        {
            return Err(error_at(
                text,
                path.pos,
                "MALFORMED_QUERY",
                &format!("duplicate field selected: {}", path.text),
            ));
        }
        fields.push(r);
    }
    let test = match &q.filter {
        Some(c) => Some(ctx.condition(object, c)?),
        None => None,
    };
    let sort: Vec<(Resolved, bool, bool)> = q
        .order
        .iter()
        .map(|o| Ok((ctx.field(object, &o.field)?, o.desc, o.nulls_last)))
        .collect::<Result<_, SoqlError>>()?;
    let mut found: Vec<&Record> = org
        .all(object)
        .filter(|r| test.as_ref().is_none_or(|t| t.passes(org, r)))
        .collect();
    found.sort_by(|a, b| {
        for (r, desc, nulls_last) in &sort {
            let (x, y) = (value(org, a, r), value(org, b, r));
            let o = match (&x, &y) {
                (Val::Null, Val::Null) => Ordering::Equal,
                (Val::Null, _) => {
                    if *nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (_, Val::Null) => {
                    if *nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                _ if *desc => order(r.kind, &y, &x),
                _ => order(r.kind, &x, &y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.id().cmp(b.id())
    });
    let rows = found
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(usize::MAX))
        .map(|rec| render(org, rec, &fields, version))
        .collect();
    Ok(rows)
}

fn attributes(object: &str, actual: Object, id: &str, version: &str) -> Value {
    json!({ "type": object, "url": format!("/services/data/{version}/sobjects/{}/{id}", actual.name()) })
}

/// A whole record as `GET /sobjects/{type}/{id}` answers it, or only `only` of its fields.
pub(crate) fn record_json(rec: &Record, version: &str, only: Option<&[String]>) -> Value {
    let mut m = Map::new();
    m.insert(
        "attributes".into(),
        attributes(rec.object.name(), rec.object, rec.id(), version),
    );
    for (name, v) in &rec.fields {
        if only.is_none_or(|o| o.iter().any(|f| f.eq_ignore_ascii_case(name))) {
            m.insert(name.clone(), v.json());
        }
    }
    Value::Object(m)
}

fn render(org: &Org, rec: &Record, fields: &[Resolved], version: &str) -> Value {
    let mut m = Map::new();
    m.insert(
        "attributes".into(),
        attributes(rec.object.name(), rec.object, rec.id(), version),
    );
    for f in fields {
        let Some((rel, id_field, poly)) = f.rel else {
            m.insert(
                f.field.clone(),
                rec.get(&f.field).map(|v| v.json()).unwrap_or_default(),
            );
            continue;
        };
        let target = rec.text(id_field).and_then(|id| org.record(id));
        let Some(target) = target else {
            m.insert(rel.into(), Value::Null);
            continue;
        };
        let nested = m.entry(rel).or_insert_with(|| {
            let shown = if poly { "Name" } else { target.object.name() };
            json!({ "attributes": attributes(shown, target.object, target.id(), version) })
        });
        nested[f.field.as_str()] = value(org, rec, f).json();
    }
    Value::Object(m)
}

/// Results not yet fetched, by query locator.
#[derive(Default)]
pub(crate) struct Locators {
    made: u64,
    open: HashMap<String, (Vec<Value>, usize)>,
    order: VecDeque<String>,
}

/// How many locators stay open (Salesforce closes old cursors too).
const OPEN_LOCATORS: usize = 50;

impl Locators {
    /// Keeps `records` and says where their page from `offset` is.
    pub fn keep(&mut self, records: Vec<Value>, batch: usize) -> String {
        self.made += 1;
        let id = ids::id("01g", self.made);
        self.open.insert(id.clone(), (records, batch));
        self.order.push_back(id.clone());
        if self.order.len() > OPEN_LOCATORS {
            if let Some(old) = self.order.pop_front() {
                self.open.remove(&old);
            }
        }
        id
    }

    /// The records a locator keeps and the batch size, if it is still open.
    pub fn get(&self, locator: &str) -> Option<&(Vec<Value>, usize)> {
        self.open.get(locator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_soql_does() {
        assert!(like("Tier 1", "tier%"));
        assert!(like("Tier 1", "T_er _"));
        assert!(!like("Tier 1", "Tier"));
        assert!(like("50% off", "50\\%%"));
        assert!(!like("50 off", "50\\%%"));
    }
}
