//! The engine's plan for a list (`can = "read", on = "posts[]"`): which of a resource
//! type's items the caller may take the action on, as a filter over the items'
//! attributes for the loader's own query, and that filter rendered as a SQL `WHERE`
//! fragment with bound parameters.

use std::fmt;

use serde_json::Value;

/// Which items of a list the caller may take the action on: every item, none, or those
/// a [`Filter`] selects. A [`Collection`](crate::Collection) loader reads it from
/// [`Scope::plan`](crate::Scope::plan) and applies it in its query
/// ([`Plan::sql`] renders it); every item it returns is then checked with the engine
/// again, and one the engine denies fails the request closed.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Every item.
    All,
    /// No item: the loader need not query at all.
    Nothing,
    /// The items the filter selects.
    Only(Filter),
}

/// A condition on an item's attributes, as an engine's plan states it. Attribute names
/// are those of [`Entity::attributes`](crate::Entity::attributes); values are strings,
/// booleans or whole numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The attribute equals the value.
    Eq(String, Value),
    /// The attribute (a set) holds the value.
    Contains(String, Value),
    /// The attribute equals one of the values.
    In(String, Vec<Value>),
    /// Every condition holds (none: true).
    And(Vec<Filter>),
    /// At least one holds (none: false).
    Or(Vec<Filter>),
    /// The condition does not hold.
    Not(Box<Filter>),
}

impl Plan {
    /// The plan of a filter, with the constant parts folded: a filter that always holds
    /// is [`Plan::All`], one that never does [`Plan::Nothing`].
    pub fn of(filter: Filter) -> Plan {
        match filter.fold() {
            Folded::Always => Plan::All,
            Folded::Never => Plan::Nothing,
            Folded::Only(filter) => Plan::Only(filter),
        }
    }

    /// Whether an item with `attributes` is one the plan selects.
    pub fn admits(&self, attributes: &serde_json::Map<String, Value>) -> bool {
        match self {
            Plan::All => true,
            Plan::Nothing => false,
            Plan::Only(filter) => filter.admits(attributes),
        }
    }

    /// The plan as a SQL condition for `WHERE`, with its values as bound parameters
    /// (never in the text), each attribute read from the column `columns` maps it to.
    ///
    /// ```
    /// use secure_endpoint::{Columns, Dialect, Filter, Plan, SqlValue};
    /// use serde_json::json;
    ///
    /// let plan = Plan::of(Filter::Or(vec![
    ///     Filter::Eq("draft".into(), json!(false)),
    ///     Filter::Eq("author".into(), json!("alice")),
    ///     Filter::Contains("editors".into(), json!("alice")),
    /// ]));
    /// let columns = Columns::new()
    ///     .column("draft", "posts.draft")
    ///     .column("author", "posts.user_id")
    ///     .set("editors", "SELECT user_id FROM editors WHERE editors.post_id = posts.id");
    /// let condition = plan.sql(&columns, Dialect::Postgres { first: 2 })?;
    /// assert_eq!(
    ///     condition.sql,
    ///     "(posts.draft = $2 OR posts.user_id = $3 OR $4 IN (SELECT user_id FROM editors WHERE editors.post_id = posts.id))"
    /// );
    /// assert_eq!(
    ///     condition.params,
    ///     [SqlValue::Bool(false), SqlValue::Text("alice".into()), SqlValue::Text("alice".into())]
    /// );
    /// # Ok::<(), secure_endpoint::SqlError>(())
    /// ```
    pub fn sql(&self, columns: &Columns, dialect: Dialect) -> Result<SqlCondition, SqlError> {
        let mut out = SqlCondition {
            sql: String::new(),
            params: Vec::new(),
        };
        match self {
            Plan::All => out.sql.push_str("1 = 1"),
            Plan::Nothing => out.sql.push_str("1 = 0"),
            Plan::Only(filter) => render(filter, columns, dialect, &mut out)?,
        }
        Ok(out)
    }
}

enum Folded {
    Always,
    Never,
    Only(Filter),
}

impl Filter {
    fn fold(self) -> Folded {
        match self {
            Filter::And(parts) => {
                let mut kept = Vec::new();
                for part in parts {
                    match part.fold() {
                        Folded::Always => {}
                        Folded::Never => return Folded::Never,
                        Folded::Only(filter) => kept.push(filter),
                    }
                }
                match kept.len() {
                    0 => Folded::Always,
                    1 => Folded::Only(kept.remove(0)),
                    _ => Folded::Only(Filter::And(kept)),
                }
            }
            Filter::Or(parts) => {
                let mut kept = Vec::new();
                for part in parts {
                    match part.fold() {
                        Folded::Always => return Folded::Always,
                        Folded::Never => {}
                        Folded::Only(filter) => kept.push(filter),
                    }
                }
                match kept.len() {
                    0 => Folded::Never,
                    1 => Folded::Only(kept.remove(0)),
                    _ => Folded::Only(Filter::Or(kept)),
                }
            }
            Filter::Not(inner) => match inner.fold() {
                Folded::Always => Folded::Never,
                Folded::Never => Folded::Always,
                Folded::Only(filter) => Folded::Only(Filter::Not(Box::new(filter))),
            },
            Filter::In(_, values) if values.is_empty() => Folded::Never,
            other => Folded::Only(other),
        }
    }

    /// Whether an item with `attributes` satisfies the filter. An attribute the item
    /// lacks satisfies no comparison.
    pub fn admits(&self, attributes: &serde_json::Map<String, Value>) -> bool {
        match self {
            Filter::Eq(name, value) => attributes.get(name) == Some(value),
            Filter::Contains(name, value) => attributes
                .get(name)
                .and_then(Value::as_array)
                .is_some_and(|items| items.contains(value)),
            Filter::In(name, values) => attributes.get(name).is_some_and(|v| values.contains(v)),
            Filter::And(parts) => parts.iter().all(|part| part.admits(attributes)),
            Filter::Or(parts) => parts.iter().any(|part| part.admits(attributes)),
            Filter::Not(inner) => !inner.admits(attributes),
        }
    }
}

/// How the SQL database numbers its bound parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?` for each (SQLite, MySQL).
    Sqlite,
    /// `$1`, `$2`, … (PostgreSQL), the condition's first being `$first`: one more than
    /// the parameters the query binds before it.
    Postgres {
        /// The number of the condition's first parameter.
        first: usize,
    },
}

/// Where each attribute a plan may name lives in the loader's query: a column, or for
/// a set attribute (`editors`) a subquery that selects its members for the current row.
/// An attribute the plan names that is not here is an error, never ignored.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    entries: Vec<(String, Column)>,
}

#[derive(Debug, Clone)]
enum Column {
    Plain(String),
    Set(String),
}

impl Columns {
    /// No attribute mapped yet.
    pub fn new() -> Columns {
        Columns::default()
    }

    /// The attribute `attribute` is the column (or any SQL expression) `sql`.
    pub fn column(mut self, attribute: &str, sql: &str) -> Columns {
        self.entries
            .push((attribute.to_owned(), Column::Plain(sql.to_owned())));
        self
    }

    /// The set attribute `attribute` holds what the subquery `select` selects for the
    /// current row: `Contains(attribute, v)` is rendered `v IN (select)`.
    pub fn set(mut self, attribute: &str, select: &str) -> Columns {
        self.entries
            .push((attribute.to_owned(), Column::Set(select.to_owned())));
        self
    }

    fn get(&self, attribute: &str) -> Result<&Column, SqlError> {
        self.entries
            .iter()
            .find(|(name, _)| name == attribute)
            .map(|(_, column)| column)
            .ok_or_else(|| SqlError(format!("the plan names the attribute `{attribute}`, which the loader's `Columns` does not map")))
    }
}

/// A SQL condition and the values to bind to its parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlCondition {
    /// The condition, for after `WHERE` (parenthesised where it has parts).
    pub sql: String,
    /// The values of its parameters, in the order they appear.
    pub params: Vec<SqlValue>,
}

/// A bound parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Bool(bool),
}

/// Why a plan cannot be rendered as SQL: an attribute without a column, a value that is
/// not a string, boolean or whole number, or a set compared as a value. The request is
/// then refused (500), never answered with an unfiltered list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError(String);

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

fn value(attribute: &str, value: &Value) -> Result<SqlValue, SqlError> {
    match value {
        Value::String(text) => Ok(SqlValue::Text(text.clone())),
        Value::Bool(b) => Ok(SqlValue::Bool(*b)),
        Value::Number(n) => n.as_i64().map(SqlValue::Integer).ok_or_else(|| {
            SqlError(format!(
                "the plan compares `{attribute}` with a number that is not a 64-bit integer"
            ))
        }),
        _ => Err(SqlError(format!(
            "the plan compares `{attribute}` with a value that is not a string, boolean or whole number"
        ))),
    }
}

fn placeholder(dialect: Dialect, out: &mut SqlCondition) {
    match dialect {
        Dialect::Sqlite => out.sql.push('?'),
        Dialect::Postgres { first } => {
            out.sql.push('$');
            out.sql
                .push_str(&(first + out.params.len() - 1).to_string());
        }
    }
}

fn bind(dialect: Dialect, value: SqlValue, out: &mut SqlCondition) {
    out.params.push(value);
    placeholder(dialect, out);
}

fn plain<'c>(columns: &'c Columns, attribute: &str) -> Result<&'c str, SqlError> {
    match columns.get(attribute)? {
        Column::Plain(sql) => Ok(sql),
        Column::Set(_) => Err(SqlError(format!(
            "the plan compares the set attribute `{attribute}` with one value"
        ))),
    }
}

fn render(
    filter: &Filter,
    columns: &Columns,
    dialect: Dialect,
    out: &mut SqlCondition,
) -> Result<(), SqlError> {
    match filter {
        Filter::Eq(attribute, v) => {
            let column = plain(columns, attribute)?;
            out.sql.push_str(column);
            out.sql.push_str(" = ");
            bind(dialect, value(attribute, v)?, out);
        }
        Filter::In(attribute, values) => {
            let column = plain(columns, attribute)?;
            if values.is_empty() {
                out.sql.push_str("1 = 0");
                return Ok(());
            }
            out.sql.push_str(column);
            out.sql.push_str(" IN (");
            for (index, v) in values.iter().enumerate() {
                if index > 0 {
                    out.sql.push_str(", ");
                }
                bind(dialect, value(attribute, v)?, out);
            }
            out.sql.push(')');
        }
        Filter::Contains(attribute, v) => match columns.get(attribute)? {
            Column::Set(select) => {
                bind(dialect, value(attribute, v)?, out);
                out.sql.push_str(" IN (");
                out.sql.push_str(select);
                out.sql.push(')');
            }
            Column::Plain(_) => {
                return Err(SqlError(format!(
                    "the plan asks whether `{attribute}` holds a value, and the loader maps it to a column, not to a set's subquery (`Columns::set`)"
                )));
            }
        },
        Filter::And(parts) | Filter::Or(parts) => {
            let (joiner, empty) = match filter {
                Filter::And(_) => (" AND ", "1 = 1"),
                _ => (" OR ", "1 = 0"),
            };
            if parts.is_empty() {
                out.sql.push_str(empty);
                return Ok(());
            }
            out.sql.push('(');
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    out.sql.push_str(joiner);
                }
                render(part, columns, dialect, out)?;
            }
            out.sql.push(')');
        }
        Filter::Not(inner) => {
            out.sql.push_str("NOT (");
            render(inner, columns, dialect, out)?;
            out.sql.push(')');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn columns() -> Columns {
        Columns::new()
            .column("author", "user_id")
            .column("draft", "draft")
            .set(
                "editors",
                "SELECT user_id FROM editors WHERE post_id = posts.id",
            )
    }

    #[test]
    fn constants_fold_to_all_or_nothing() {
        let always = Filter::Or(vec![Filter::And(vec![]), Filter::Eq("a".into(), json!(1))]);
        assert_eq!(Plan::of(always), Plan::All);
        let never = Filter::And(vec![Filter::Or(vec![]), Filter::Eq("a".into(), json!(1))]);
        assert_eq!(Plan::of(never), Plan::Nothing);
        assert_eq!(
            Plan::of(Filter::Not(Box::new(Filter::In("a".into(), vec![])))),
            Plan::All
        );
    }

    #[test]
    fn sqlite_binds_every_value_as_a_parameter() {
        let plan = Plan::of(Filter::And(vec![
            Filter::Not(Box::new(Filter::Eq("draft".into(), json!(true)))),
            Filter::In("author".into(), vec![json!("a'b"), json!(7)]),
        ]));
        let condition = plan.sql(&columns(), Dialect::Sqlite).unwrap();
        assert_eq!(condition.sql, "(NOT (draft = ?) AND user_id IN (?, ?))");
        assert_eq!(
            condition.params,
            [
                SqlValue::Bool(true),
                SqlValue::Text("a'b".into()),
                SqlValue::Integer(7)
            ]
        );
    }

    #[test]
    fn an_unmapped_attribute_or_a_misused_set_is_an_error() {
        let unknown = Plan::of(Filter::Eq("team".into(), json!("x")));
        assert!(unknown.sql(&columns(), Dialect::Sqlite).is_err());
        let set_as_value = Plan::of(Filter::Eq("editors".into(), json!("x")));
        assert!(set_as_value.sql(&columns(), Dialect::Sqlite).is_err());
        let fraction = Plan::of(Filter::Eq("author".into(), json!(1.5)));
        assert!(fraction.sql(&columns(), Dialect::Sqlite).is_err());
        let column_as_set = Plan::of(Filter::Contains("author".into(), json!("x")));
        assert!(column_as_set.sql(&columns(), Dialect::Sqlite).is_err());
    }

    #[test]
    fn all_and_nothing_render_as_constants() {
        assert_eq!(
            Plan::All.sql(&columns(), Dialect::Sqlite).unwrap().sql,
            "1 = 1"
        );
        assert_eq!(
            Plan::Nothing.sql(&columns(), Dialect::Sqlite).unwrap().sql,
            "1 = 0"
        );
    }

    #[test]
    fn admits_reads_the_attributes() {
        let plan = Plan::of(Filter::Or(vec![
            Filter::Eq("draft".into(), json!(false)),
            Filter::Contains("editors".into(), json!("bo")),
        ]));
        let item = |draft: bool, editors: Value| {
            let mut attributes = serde_json::Map::new();
            attributes.insert("draft".into(), json!(draft));
            attributes.insert("editors".into(), editors);
            attributes
        };
        assert!(plan.admits(&item(false, json!([]))));
        assert!(plan.admits(&item(true, json!(["bo"]))));
        assert!(!plan.admits(&item(true, json!(["al"]))));
    }
}
