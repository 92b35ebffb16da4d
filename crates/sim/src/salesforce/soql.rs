//! A parser for the part of SOQL a sync client sends:
//!
//! ```text
//! SELECT field [, field …] FROM Object
//!   [WHERE condition]
//!   [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, …]]
//!   [LIMIT n] [OFFSET n]
//! ```
//!
//! A field is a name or one relationship hop (`Conversation.ConversationIdentifier`). A
//! condition is comparisons (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`), `[NOT] IN (values)`,
//! `[NOT] IN (SELECT idField FROM Object [WHERE …])`, `LIKE 'pattern'`, `NOT`, and
//! parentheses, joined by `AND` or `OR` (never both at one level without parentheses, as
//! in SOQL). Values: 'strings', numbers, TRUE, FALSE, NULL, dateTimes
//! (`2026-11-22T10:04:00Z`, `…00.000Z`, `…00+01:00`) and dates. Anything else SOQL has
//! (aggregates, GROUP BY, date literals such as TODAY, TYPEOF, bind variables…) is refused
//! as `MALFORMED_QUERY`.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

/// A field path as written, and where (a byte offset into the query).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub text: String,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InList {
    Values(Vec<(Lit, usize)>),
    Sub(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: Path,
        op: Op,
        value: Lit,
        pos: usize,
    },
    In {
        field: Path,
        negated: bool,
        list: InList,
    },
    Like {
        field: Path,
        pattern: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub field: Path,
    pub desc: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub fields: Vec<Path>,
    pub object: Path,
    pub filter: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// An error at `pos` of `query`, shaped as Salesforce's: the line, a caret under the
/// spot, and `ERROR at Row:r:Column:c`.
pub fn error_at(query: &str, pos: usize, code: &'static str, what: &str) -> SoqlError {
    let pos = pos.min(query.len());
    let row = query[..pos].matches('\n').count() + 1;
    let line_start = query[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = query[pos..].find('\n').map_or(query.len(), |i| pos + i);
    let col = query[line_start..pos].chars().count() + 1;
    SoqlError {
        code,
        message: format!(
            "\n{}\n{}^\nERROR at Row:{row}:Column:{col}\n{what}",
            &query[line_start..line_end],
            " ".repeat(col - 1)
        ),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    /// A number, a date or a dateTime, as written.
    Word(String),
    Sym(&'static str),
    End,
}

const SYMBOLS: [&str; 10] = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ","];

fn lex(q: &str) -> Result<Vec<(Tok, usize)>, SoqlError> {
    let mut toks = vec![];
    let bytes = q.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_.".contains(&bytes[i]))
            {
                i += 1;
            }
            toks.push((Tok::Ident(q[start..i].to_string()), start));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || b":.+-".contains(&bytes[i]))
            {
                i += 1;
            }
            toks.push((Tok::Word(q[start..i].to_string()), start));
        } else if c == '\'' {
            let start = i;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(ch) = q[i..].chars().next() else {
                    return Err(error_at(
                        q,
                        start,
                        "MALFORMED_QUERY",
                        "unterminated string literal",
                    ));
                };
                i += ch.len_utf8();
                match ch {
                    '\'' => break,
                    '\\' => {
                        let Some(e) = q[i..].chars().next() else {
                            continue;
                        };
                        i += e.len_utf8();
                        match e {
                            'n' => s.push('\n'),
                            'r' => s.push('\r'),
                            't' => s.push('\t'),
                            'b' => s.push('\u{8}'),
                            'f' => s.push('\u{c}'),
                            // LIKE's escapes stay for the pattern matcher.
                            '%' | '_' => {
                                s.push('\\');
                                s.push(e);
                            }
                            '\'' | '"' | '\\' => s.push(e),
                            _ => {
                                return Err(error_at(
                                    q,
                                    i - e.len_utf8() - 1,
                                    "MALFORMED_QUERY",
                                    &format!("Invalid string literal '\\{e}'. Illegal character sequence '\\{e}' in string literal."),
                                ))
                            }
                        }
                    }
                    _ => s.push(ch),
                }
            }
            toks.push((Tok::Str(s), start));
        } else if let Some(sym) = SYMBOLS.iter().find(|s| q[i..].starts_with(**s)) {
            toks.push((Tok::Sym(sym), i));
            i += sym.len();
        } else {
            let ch = q[i..].chars().next().unwrap_or(' ');
            return Err(error_at(
                q,
                i,
                "MALFORMED_QUERY",
                &format!("unexpected token: '{ch}'"),
            ));
        }
    }
    toks.push((Tok::End, q.len()));
    Ok(toks)
}

struct Parser<'q> {
    q: &'q str,
    toks: Vec<(Tok, usize)>,
    at: usize,
}

/// Parses a SOQL query, or says what is wrong with it as Salesforce would.
pub fn parse(q: &str) -> Result<Query, SoqlError> {
    let mut p = Parser {
        q,
        toks: lex(q)?,
        at: 0,
    };
    let query = p.query()?;
    p.expect_end()?;
    Ok(query)
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> usize {
        self.toks[self.at].1
    }

    fn next(&mut self) {
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
    }

    fn unexpected(&self) -> SoqlError {
        let what = match self.peek() {
            Tok::End => "unexpected token: <EOF>".to_string(),
            Tok::Ident(s) | Tok::Word(s) => format!("unexpected token: '{s}'"),
            Tok::Str(s) => format!("unexpected token: ''{s}''"),
            Tok::Sym(s) => format!("unexpected token: '{s}'"),
        };
        error_at(self.q, self.pos(), "MALFORMED_QUERY", &what)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.next();
        }
        yes
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let yes = *self.peek() == Tok::Sym(sym_of(sym));
        if yes {
            self.next();
        }
        yes
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), SoqlError> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_end(&self) -> Result<(), SoqlError> {
        if *self.peek() == Tok::End {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field name or path (never a reserved word).
    fn path(&mut self) -> Result<Path, SoqlError> {
        match self.peek().clone() {
            Tok::Ident(s) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&s)) => {
                let pos = self.pos();
                self.next();
                if *self.peek() == Tok::Sym("(") {
                    // A function: COUNT(), FIELDS(ALL), toLabel(…), …
                    return Err(error_at(
                        self.q,
                        pos,
                        "MALFORMED_QUERY",
                        &format!("unexpected token: '{s}' (functions are not simulated)"),
                    ));
                }
                Ok(Path { text: s, pos })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn count(&mut self) -> Result<usize, SoqlError> {
        match self.peek().clone() {
            Tok::Word(w) if w.bytes().all(|b| b.is_ascii_digit()) => {
                self.next();
                w.parse().map_err(|_| self.unexpected())
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut fields = vec![self.path()?];
        while self.eat_sym(",") {
            fields.push(self.path()?);
        }
        self.expect_kw("FROM")?;
        let object = self.path()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order = vec![];
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let field = self.path()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let nulls_last = if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        true
                    } else {
                        self.expect_kw("FIRST")?;
                        false
                    }
                } else {
                    false
                };
                order.push(Order {
                    field,
                    desc,
                    nulls_last,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        Ok(Query {
            fields,
            object,
            filter,
            order,
            limit,
            offset,
        })
    }

    /// Terms joined by one connector (mixing AND and OR needs parentheses).
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.term()?;
        let connector = if self.is_kw("AND") {
            "AND"
        } else if self.is_kw("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut terms = vec![first];
        while self.eat_kw(connector) {
            terms.push(self.term()?);
        }
        if self.is_kw("AND") || self.is_kw("OR") {
            return Err(self.unexpected());
        }
        Ok(if connector == "AND" {
            Cond::And(terms)
        } else {
            Cond::Or(terms)
        })
    }

    fn term(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.term()?)));
        }
        if self.eat_sym("(") {
            let c = self.condition()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let field = self.path()?;
        let op = match self.peek() {
            Tok::Sym("=") => Some(Op::Eq),
            Tok::Sym("!=") | Tok::Sym("<>") => Some(Op::Ne),
            Tok::Sym("<") => Some(Op::Lt),
            Tok::Sym("<=") => Some(Op::Le),
            Tok::Sym(">") => Some(Op::Gt),
            Tok::Sym(">=") => Some(Op::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            let pos = self.pos();
            let value = self.literal()?;
            return Ok(Cond::Cmp {
                field,
                op,
                value,
                pos,
            });
        }
        if self.eat_kw("LIKE") {
            let Tok::Str(pattern) = self.peek().clone() else {
                return Err(self.unexpected());
            };
            self.next();
            return Ok(Cond::Like { field, pattern });
        }
        let negated = self.eat_kw("NOT");
        self.expect_kw("IN")?;
        self.expect_sym("(")?;
        let list = if self.is_kw("SELECT") {
            InList::Sub(Box::new(self.query()?))
        } else {
            let mut values = vec![];
            loop {
                let pos = self.pos();
                values.push((self.literal()?, pos));
                if !self.eat_sym(",") {
                    break;
                }
            }
            InList::Values(values)
        };
        self.expect_sym(")")?;
        Ok(Cond::In {
            field,
            negated,
            list,
        })
    }

    fn literal(&mut self) -> Result<Lit, SoqlError> {
        let lit = match self.peek().clone() {
            Tok::Str(s) => Lit::Str(s),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Lit::Bool(false),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Lit::Null,
            Tok::Word(w) => word(&w).ok_or_else(|| self.unexpected())?,
            _ => return Err(self.unexpected()),
        };
        self.next();
        Ok(lit)
    }
}

fn sym_of(s: &str) -> &'static str {
    SYMBOLS.iter().find(|x| **x == s).copied().unwrap_or("")
}

/// Words SOQL reserves (never field or object names here; `Group` is an object).
const RESERVED: [&str; 15] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "NULL", "TRUE", "FALSE",
];

/// A number, a date or a dateTime.
fn word(w: &str) -> Option<Lit> {
    if w.contains('T') {
        return DateTime::parse_from_rfc3339(w)
            .ok()
            .map(|t| Lit::DateTime(t.to_utc()));
    }
    if w.len() == 10 && w.as_bytes()[4] == b'-' {
        return NaiveDate::parse_from_str(w, "%Y-%m-%d").ok().map(Lit::Date);
    }
    w.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Lit::Num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_query_parses() {
        let q = parse(
            "SELECT Id, Status, OwnerId, Conversation.ConversationIdentifier FROM MessagingSession \
             WHERE (OwnerId = '005Sm0000000102AAA' OR OwnerId IN (SELECT GroupId FROM GroupMember WHERE UserOrGroupId = '005Sm0000000102AAA')) \
             AND SystemModstamp > 2026-11-22T10:04:00.000Z ORDER BY SystemModstamp ASC, Id LIMIT 200",
        )
        .unwrap();
        assert_eq!(q.fields.len(), 4);
        assert_eq!(q.fields[3].text, "Conversation.ConversationIdentifier");
        assert_eq!(q.object.text, "MessagingSession");
        assert_eq!(q.limit, Some(200));
        assert_eq!(q.order.len(), 2);
        let Some(Cond::And(terms)) = q.filter else {
            panic!("an AND")
        };
        assert!(matches!(&terms[0], Cond::Or(o) if o.len() == 2));
        assert!(matches!(
            &terms[1],
            Cond::Cmp {
                op: Op::Gt,
                value: Lit::DateTime(_),
                ..
            }
        ));
        let groups = parse("SELECT Id, Name FROM Group WHERE Type = 'Queue'").unwrap();
        assert_eq!(groups.object.text, "Group");
    }

    #[test]
    fn refusals_name_the_spot() {
        let e = parse("SELECT Id FROM MessagingSession WHERE").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message
                .ends_with("ERROR at Row:1:Column:38\nunexpected token: <EOF>"),
            "{}",
            e.message
        );
        for bad in [
            "SELECT COUNT() FROM MessagingSession",
            "SELECT Id FROM MessagingSession WHERE Status = 'Ended' AND OwnerId = 'x' OR Id = 'y'",
            "SELECT Id FROM MessagingSession WHERE CreatedDate = TODAY",
            "SELECT Id FROM MessagingSession WHERE OwnerId = :me",
            "SELECT Id FROM MessagingSession GROUP BY Status",
            "SELECT Id FROM MessagingSession LIMIT x",
            "SELECT FROM MessagingSession",
            "DELETE FROM MessagingSession",
            "SELECT Id FROM MessagingSession WHERE Name = 'unterminated",
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "MALFORMED_QUERY", "{bad}");
        }
    }
}
