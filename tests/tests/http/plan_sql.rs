//! A permission plan rendered as SQL (`Plan::sql`) and run on real SQLite and
//! PostgreSQL databases: every query returns exactly the rows `Plan::admits` selects,
//! values that try SQL injection are only ever bound, never part of the SQL text, and
//! the tables come out of it whole.
//!
//! PostgreSQL is never skipped: `DATABASE_URL_POSTGRES`, or
//! `postgres://postgres@127.0.0.1:5432/test`, must accept a connection. Each run works
//! in a schema of its own, dropped at the end.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use secure_endpoint::{Columns, Dialect, Filter, Plan, SqlCondition, SqlError, SqlValue};
use serde_json::{Map, Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

const INJECTION: &str = "x' OR '1'='1";
const BACKSLASH: &str = "a\\b";
const BACKSLASHES: &str = "a\\\\b";
const UNICODE: &str = "Zoë 日本語 🚀";

/// A post as stored, and as the plan reads it.
struct Post {
    id: i64,
    author: String,
    draft: bool,
    editors: Vec<String>,
}

impl Post {
    fn attributes(&self) -> Map<String, Value> {
        let mut attributes = Map::new();
        attributes.insert("id".into(), json!(self.id));
        attributes.insert("author".into(), json!(self.author));
        attributes.insert("draft".into(), json!(self.draft));
        attributes.insert("editors".into(), json!(self.editors));
        attributes
    }
}

/// The names of one run's tables (schema-qualified on PostgreSQL). Queries read the
/// posts table as `posts` and the editors table as `editors`, whatever their names.
struct Tables {
    posts: String,
    editors: String,
}

impl Tables {
    /// An author name that would drop the posts table were it ever spliced into SQL.
    fn drop_attempt(&self) -> String {
        format!("'; DROP TABLE {}; --", self.posts)
    }

    fn editors_subquery(&self) -> String {
        format!(
            "SELECT editors.user_id FROM {} AS editors WHERE editors.post_id = posts.id",
            self.editors
        )
    }

    fn columns(&self) -> Columns {
        Columns::new()
            .column("id", "posts.id")
            .column("author", "posts.author")
            .column("draft", "posts.draft")
            .set("editors", &self.editors_subquery())
    }

    /// The SQL of every column `columns` maps, longest first.
    fn column_sql(&self) -> Vec<String> {
        vec![
            self.editors_subquery(),
            "posts.author".into(),
            "posts.draft".into(),
            "posts.id".into(),
        ]
    }

    fn rows(&self) -> Vec<Post> {
        let drop = self.drop_attempt();
        let post = |id: i64, author: &str, draft: bool, editors: &[&str]| Post {
            id,
            author: author.to_owned(),
            draft,
            editors: editors.iter().map(|e| (*e).to_owned()).collect(),
        };
        vec![
            post(1, "alice", false, &["bob"]),
            post(2, "bob", true, &[]),
            post(3, INJECTION, false, &[&drop]),
            post(4, &drop, true, &["alice", INJECTION]),
            post(5, BACKSLASH, false, &["%"]),
            post(6, BACKSLASHES, true, &[BACKSLASH]),
            post(7, "%", true, &["_"]),
            post(8, "_", false, &[]),
            post(9, UNICODE, true, &[UNICODE, "bob"]),
            post(10, "", true, &[""]),
            post(11, "$1", false, &["?"]),
            post(12, "?", true, &["alice"]),
            post(13, "alice", true, &["%"]),
            post(14, "7", true, &[]),
        ]
    }

    /// The plans every database runs.
    fn plans(&self) -> Vec<Plan> {
        let drop = self.drop_attempt();
        let eq = |attribute: &str, value: Value| Filter::Eq(attribute.into(), value);
        let contains = |value: &str| Filter::Contains("editors".into(), json!(value));
        let within =
            |attribute: &str, values: &[Value]| Filter::In(attribute.into(), values.to_vec());
        let not = |filter: Filter| Filter::Not(Box::new(filter));

        let mut authors: Vec<String> = self.rows().into_iter().map(|p| p.author).collect();
        authors.sort();
        authors.dedup();
        // Near misses: none of these is an author, though a LIKE, a case-insensitive or a
        // normalising comparison, or a value spliced into the text, would match some.
        for absent in [
            "nobody",
            "ALICE",
            "alice ",
            "Zoe\u{308} 日本語 🚀",
            "%%",
            "a%",
            "' OR ''='",
            "alice' --",
            "$2",
        ] {
            authors.push(absent.to_owned());
        }

        let mut plans = Vec::new();
        for author in &authors {
            plans.push(Plan::of(eq("author", json!(author))));
            plans.push(Plan::of(contains(author)));
            plans.push(Plan::of(not(eq("author", json!(author)))));
        }
        let nasty = [
            json!(INJECTION),
            json!(drop),
            json!(BACKSLASH),
            json!("%"),
            json!("_"),
            json!(""),
            json!(UNICODE),
            json!("?"),
            json!("nobody"),
        ];
        plans.extend([
            Plan::of(eq("draft", json!(false))),
            Plan::of(eq("draft", json!(true))),
            Plan::of(eq("id", json!(3))),
            Plan::of(within("id", &[json!(1), json!(4), json!(99)])),
            Plan::of(within("author", &nasty)),
            Plan::of(within("author", &[json!(INJECTION)])),
            Plan::of(not(within("author", &nasty))),
            Plan::of(Filter::And(vec![
                eq("draft", json!(false)),
                not(eq("author", json!(INJECTION))),
            ])),
            Plan::of(Filter::Or(vec![
                eq("author", json!(drop)),
                contains("%"),
                eq("draft", json!(false)),
            ])),
            Plan::of(not(Filter::Or(vec![
                eq("draft", json!(true)),
                contains("alice"),
            ]))),
            Plan::of(not(Filter::And(vec![
                eq("draft", json!(true)),
                within("author", &nasty),
            ]))),
            Plan::of(Filter::Or(vec![
                Filter::And(vec![eq("draft", json!(true)), contains("_")]),
                not(within("author", &[json!("alice"), json!("bob"), json!("")])),
            ])),
            // AND of ORs and OR of ANDs: each group must stay a group.
            Plan::of(Filter::And(vec![
                Filter::Or(vec![eq("author", json!("alice")), contains("alice")]),
                Filter::Or(vec![eq("draft", json!(false)), not(contains("%"))]),
            ])),
            Plan::of(Filter::Or(vec![
                Filter::And(vec![eq("author", json!("alice")), eq("draft", json!(true))]),
                Filter::And(vec![contains(INJECTION), eq("draft", json!(true))]),
                Filter::And(vec![
                    not(eq("draft", json!(true))),
                    not(contains("bob")),
                    not(eq("author", json!(INJECTION))),
                ]),
            ])),
            Plan::of(not(not(eq("author", json!(drop))))),
            Plan::of(not(Filter::And(vec![
                not(eq("draft", json!(false))),
                Filter::Or(vec![contains(""), eq("author", json!(UNICODE))]),
            ]))),
            Plan::All,
            Plan::Nothing,
            // Unfolded constants, as a plan built by hand may hold them.
            Plan::Only(within("author", &[])),
            Plan::Only(not(within("author", &[]))),
            Plan::Only(Filter::And(vec![])),
            Plan::Only(Filter::Or(vec![])),
            Plan::Only(not(Filter::Or(vec![]))),
            Plan::Only(Filter::Or(vec![
                eq("author", json!(INJECTION)),
                within("author", &[]),
            ])),
            Plan::Only(Filter::And(vec![
                not(Filter::And(vec![])),
                eq("author", json!("alice")),
            ])),
        ]);
        plans
    }
}

/// A database the same scenario runs on.
trait Database {
    /// The dialect of a condition whose first parameter is the query's `first`.
    fn dialect(first: usize) -> Dialect;

    /// The placeholder of the query's parameter `n` (from 1).
    fn placeholder(n: usize) -> String;

    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<(), sqlx::Error>;

    async fn ids(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<i64>, sqlx::Error>;

    async fn texts(&mut self, sql: &str) -> Result<Vec<String>, sqlx::Error>;
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for value in $params {
            query = match value {
                SqlValue::Text(text) => query.bind(text.as_str()),
                SqlValue::Integer(n) => query.bind(*n),
                SqlValue::Bool(b) => query.bind(*b),
            };
        }
        query
    }};
}

impl Database for SqliteConnection {
    fn dialect(_first: usize) -> Dialect {
        Dialect::Sqlite
    }

    fn placeholder(_n: usize) -> String {
        "?".into()
    }

    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<(), sqlx::Error> {
        bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), params)
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn ids(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<i64>, sqlx::Error> {
        bind_all!(
            sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned())),
            params
        )
        .fetch_all(&mut *self)
        .await
    }

    async fn texts(&mut self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *self)
            .await
    }
}

impl Database for PgConnection {
    fn dialect(first: usize) -> Dialect {
        Dialect::Postgres { first }
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<(), sqlx::Error> {
        bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), params)
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn ids(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<i64>, sqlx::Error> {
        // `id` is an `integer` column: PostgreSQL returns it as an `int4`.
        let ids: Vec<i32> = bind_all!(
            sqlx::query_scalar::<_, i32>(AssertSqlSafe(sql.to_owned())),
            params
        )
        .fetch_all(&mut *self)
        .await?;
        Ok(ids.into_iter().map(i64::from).collect())
    }

    async fn texts(&mut self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *self)
            .await
    }
}

/// The ids of `posts` that `plan` admits, in order.
fn admitted(plan: &Plan, posts: &[Post]) -> Vec<i64> {
    posts
        .iter()
        .filter(|post| plan.admits(&post.attributes()))
        .map(|post| post.id)
        .collect()
}

/// The condition's text is only the columns' SQL, its placeholders (numbered from
/// `first` on PostgreSQL, one per parameter) and operators: no value is in it.
fn assert_only_columns_and_placeholders(
    condition: &SqlCondition,
    tables: &Tables,
    dialect: Dialect,
) {
    let sql = &condition.sql;
    for forbidden in ["'", "\"", ";", "--", "\\", "%"] {
        assert!(
            !sql.contains(forbidden),
            "`{forbidden}` in the condition `{sql}`"
        );
    }
    for value in &condition.params {
        if let SqlValue::Text(text) = value
            && text.chars().count() >= 3
        {
            assert!(!sql.contains(text.as_str()), "`{text}` in `{sql}`");
        }
    }
    let mut rest = sql.clone();
    for column in tables.column_sql() {
        rest = rest.replace(&column, " ");
    }
    let mut placeholders = Vec::new();
    for token in rest.split_whitespace() {
        let token = token.trim_matches(|c| c == '(' || c == ')' || c == ',');
        match token {
            "" | "AND" | "OR" | "NOT" | "IN" | "=" | "1" | "0" => {}
            "?" if dialect == Dialect::Sqlite => placeholders.push(None),
            _ => match (dialect, token.strip_prefix('$')) {
                (Dialect::Postgres { .. }, Some(n)) => placeholders.push(Some(
                    n.parse::<usize>()
                        .unwrap_or_else(|_| panic!("`{token}` in `{sql}`")),
                )),
                _ => panic!(
                    "`{token}` in the condition `{sql}`: not a column, placeholder or operator"
                ),
            },
        }
    }
    assert_eq!(
        placeholders.len(),
        condition.params.len(),
        "placeholders of `{sql}`"
    );
    if let Dialect::Postgres { first } = dialect {
        let expected: Vec<_> = (first..first + condition.params.len()).map(Some).collect();
        assert_eq!(placeholders, expected, "numbering of `{sql}`");
    }
}

/// Creates the tables and writes the posts and their editors, every value bound.
async fn setup<D: Database>(db: &mut D, tables: &Tables) {
    let Tables { posts, editors } = tables;
    db.execute(
        &format!(
            "CREATE TABLE {posts} (id integer PRIMARY KEY, author text NOT NULL, \
             draft boolean NOT NULL, title text NOT NULL)"
        ),
        &[],
    )
    .await
    .unwrap();
    db.execute(
        &format!(
            "CREATE TABLE {editors} (post_id integer NOT NULL REFERENCES {posts} (id), \
             user_id text NOT NULL)"
        ),
        &[],
    )
    .await
    .unwrap();

    let p = D::placeholder;
    let rows = tables.rows();
    for post in &rows {
        db.execute(
            &format!(
                "INSERT INTO {posts} (id, author, draft, title) VALUES ({}, {}, {}, {})",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            &[
                SqlValue::Integer(post.id),
                SqlValue::Text(post.author.clone()),
                SqlValue::Bool(post.draft),
                SqlValue::Text(format!("post {}", post.id)),
            ],
        )
        .await
        .unwrap();
        for editor in &post.editors {
            db.execute(
                &format!(
                    "INSERT INTO {editors} (post_id, user_id) VALUES ({}, {})",
                    p(1),
                    p(2)
                ),
                &[SqlValue::Integer(post.id), SqlValue::Text(editor.clone())],
            )
            .await
            .unwrap();
        }
    }
}

/// Fills the tables, runs every plan alone and between other parameters, and checks the
/// tables are whole afterwards.
async fn scenario<D: Database>(db: &mut D, tables: &Tables) {
    setup(db, tables).await;
    let Tables { posts, editors } = tables;
    let p = D::placeholder;
    let rows = tables.rows();
    let columns = tables.columns();
    let plans = tables.plans();
    // The plans select many different sets of rows, not all or none every time.
    let mut selections: Vec<Vec<i64>> = plans.iter().map(|plan| admitted(plan, &rows)).collect();
    selections.sort();
    selections.dedup();
    assert!(selections.len() > 20, "{} selections", selections.len());
    for plan in &plans {
        let expected = admitted(plan, &rows);

        // The condition alone.
        let dialect = D::dialect(1);
        let condition = plan.sql(&columns, dialect).unwrap();
        assert_only_columns_and_placeholders(&condition, tables, dialect);
        let sql = format!(
            "SELECT posts.id FROM {posts} AS posts WHERE {} ORDER BY posts.id",
            condition.sql
        );
        let ids = db
            .ids(&sql, &condition.params)
            .await
            .unwrap_or_else(|e| panic!("{plan:?} as `{sql}`: {e}"));
        assert_eq!(ids, expected, "{plan:?} as `{sql}` {:?}", condition.params);

        // The condition after a parameter of the query's own and before another.
        let dialect = D::dialect(2);
        let condition = plan.sql(&columns, dialect).unwrap();
        assert_only_columns_and_placeholders(&condition, tables, dialect);
        let sql = format!(
            "SELECT posts.id FROM {posts} AS posts WHERE posts.author <> {} AND ({}) \
             AND posts.id <> {} ORDER BY posts.id",
            p(1),
            condition.sql,
            p(condition.params.len() + 2)
        );
        let mut params = vec![SqlValue::Text(INJECTION.into())];
        params.extend(condition.params.iter().cloned());
        params.push(SqlValue::Integer(1));
        let ids = db
            .ids(&sql, &params)
            .await
            .unwrap_or_else(|e| panic!("{plan:?} as `{sql}`: {e}"));
        let expected: Vec<i64> = rows
            .iter()
            .filter(|post| post.author != INJECTION && post.id != 1)
            .filter(|post| plan.admits(&post.attributes()))
            .map(|post| post.id)
            .collect();
        assert_eq!(ids, expected, "{plan:?} as `{sql}` {params:?}");
    }

    // Every row is still there, every value as it was written.
    let all: Vec<i64> = rows.iter().map(|post| post.id).collect();
    assert_eq!(
        db.ids(
            &format!("SELECT posts.id FROM {posts} AS posts ORDER BY posts.id"),
            &[]
        )
        .await
        .unwrap(),
        all
    );
    let authors: Vec<String> = rows.iter().map(|post| post.author.clone()).collect();
    assert_eq!(
        db.texts(&format!("SELECT author FROM {posts} ORDER BY id"))
            .await
            .unwrap(),
        authors
    );
    let mut stored_editors = db
        .texts(&format!("SELECT user_id FROM {editors}"))
        .await
        .unwrap();
    let mut written: Vec<String> = rows.iter().flat_map(|post| post.editors.clone()).collect();
    stored_editors.sort();
    written.sort();
    assert_eq!(stored_editors, written);
}

fn postgres_url() -> String {
    std::env::var("DATABASE_URL_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

async fn connect_postgres(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to PostgreSQL at `{url}` (set DATABASE_URL_POSTGRES to another): {e}"
        )
    })
}

/// Runs `body` in a schema of its own on PostgreSQL, and drops the schema afterwards,
/// whether `body` passed or not.
async fn in_postgres_schema<F>(body: F)
where
    F: for<'a> FnOnce(&'a mut PgConnection, &'a Tables) -> BoxFuture<'a, ()>,
{
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let url = postgres_url();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!(
        "plan_sql_{}_{}_{nanos}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let mut connection = connect_postgres(&url).await;
    connection
        .execute(&format!("CREATE SCHEMA {schema}"), &[])
        .await
        .unwrap();
    let tables = Tables {
        posts: format!("{schema}.posts"),
        editors: format!("{schema}.editors"),
    };
    let outcome = AssertUnwindSafe(body(&mut connection, &tables))
        .catch_unwind()
        .await;
    drop(connection);
    let mut cleanup = connect_postgres(&url).await;
    let dropped = cleanup
        .execute(&format!("DROP SCHEMA {schema} CASCADE"), &[])
        .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    dropped.unwrap_or_else(|e| panic!("dropping the schema `{schema}`: {e}"));
}

async fn sqlite() -> SqliteConnection {
    SqliteConnection::connect("sqlite::memory:").await.unwrap()
}

fn sqlite_tables() -> Tables {
    Tables {
        posts: "posts".into(),
        editors: "editors".into(),
    }
}

#[tokio::test]
async fn sqlite_returns_the_rows_the_plan_admits() {
    let mut connection = sqlite().await;
    scenario(&mut connection, &sqlite_tables()).await;
}

#[tokio::test]
async fn postgres_returns_the_rows_the_plan_admits() {
    in_postgres_schema(|connection, tables| scenario(connection, tables).boxed()).await;
}

#[test]
fn the_blog_style_query_numbers_its_parameters_after_the_others() {
    let tables = sqlite_tables();
    let plan = Plan::of(Filter::Or(vec![
        Filter::Eq("draft".into(), json!(false)),
        Filter::Not(Box::new(Filter::In(
            "author".into(),
            vec![json!(INJECTION), json!("b")],
        ))),
        Filter::Contains("editors".into(), json!("c")),
    ]));
    let condition = plan
        .sql(&tables.columns(), Dialect::Postgres { first: 2 })
        .unwrap();
    assert_eq!(
        condition.sql,
        format!(
            "(posts.draft = $2 OR NOT (posts.author IN ($3, $4)) OR $5 IN ({}))",
            tables.editors_subquery()
        )
    );
    assert_eq!(
        condition.params,
        [
            SqlValue::Bool(false),
            SqlValue::Text(INJECTION.into()),
            SqlValue::Text("b".into()),
            SqlValue::Text("c".into()),
        ]
    );
}

#[test]
fn what_sql_cannot_express_is_an_error() {
    let columns = sqlite_tables().columns();
    let errors = [
        // Not mapped in `Columns`.
        Filter::Eq("team".into(), json!("x")),
        Filter::In("team".into(), vec![json!("x")]),
        Filter::Contains("team".into(), json!("x")),
        Filter::Not(Box::new(Filter::Eq("team".into(), json!("x")))),
        Filter::Or(vec![
            Filter::Eq("author".into(), json!("alice")),
            Filter::Eq("team".into(), json!("x")),
        ]),
        // Values SQL parameters do not carry.
        Filter::Eq("author".into(), json!(1.5)),
        Filter::In("author".into(), vec![json!("alice"), json!(0.5)]),
        Filter::Eq("id".into(), json!(u64::MAX)),
        Filter::Eq("author".into(), Value::Null),
        Filter::Eq("author".into(), json!(["alice"])),
        Filter::Eq("author".into(), json!({"name": "alice"})),
        Filter::Contains("editors".into(), json!(2.5)),
        // A set compared as one value, a column asked for a member.
        Filter::Eq("editors".into(), json!("alice")),
        Filter::Contains("author".into(), json!("alice")),
    ];
    for filter in errors {
        let plan = Plan::of(filter);
        for dialect in [Dialect::Sqlite, Dialect::Postgres { first: 1 }] {
            let outcome: Result<SqlCondition, SqlError> = plan.sql(&columns, dialect);
            let error = outcome.expect_err(&format!("{plan:?} in {dialect:?}"));
            assert!(!error.to_string().is_empty());
        }
    }
}

/// A value of another type than its column: `Plan::admits` compares JSON values, so a
/// number never equals a string; SQLite converts the parameter to the column's affinity
/// and compares; PostgreSQL refuses the query. These pin what each database does.
#[tokio::test]
async fn sqlite_converts_a_value_of_another_type_than_its_column() {
    let tables = sqlite_tables();
    let mut connection = sqlite().await;
    setup(&mut connection, &tables).await;
    let columns = tables.columns();
    let rows = tables.rows();
    for (plan, sqlite_ids) in [
        (Plan::of(Filter::Eq("author".into(), json!(7))), vec![14]),
        (Plan::of(Filter::Eq("id".into(), json!("3"))), vec![3]),
        (
            Plan::of(Filter::In("author".into(), vec![json!(7), json!("bob")])),
            vec![2, 14],
        ),
    ] {
        let condition = plan.sql(&columns, Dialect::Sqlite).unwrap();
        let sql = format!(
            "SELECT posts.id FROM posts AS posts WHERE {} ORDER BY posts.id",
            condition.sql
        );
        let ids = connection.ids(&sql, &condition.params).await.unwrap();
        assert_eq!(ids, sqlite_ids, "{plan:?}");
        assert_ne!(ids, admitted(&plan, &rows), "{plan:?}");
    }
}

/// The PostgreSQL half of the above: `text = bigint`, `integer = text`, `boolean = text`
/// and `bigint = text` (a number in a set of strings) have no operator, and the query
/// fails instead of returning rows.
#[tokio::test]
async fn postgres_refuses_a_value_of_another_type_than_its_column() {
    in_postgres_schema(|connection, tables| {
        async move {
            setup(connection, tables).await;
            let columns = tables.columns();
            let posts = &tables.posts;
            for plan in [
                Plan::of(Filter::Eq("author".into(), json!(7))),
                Plan::of(Filter::Eq("id".into(), json!("3"))),
                Plan::of(Filter::Eq("draft".into(), json!("false"))),
                Plan::of(Filter::In("author".into(), vec![json!(7), json!("bob")])),
                Plan::of(Filter::Contains("editors".into(), json!(7))),
            ] {
                let condition = plan.sql(&columns, Dialect::Postgres { first: 1 }).unwrap();
                let sql = format!(
                    "SELECT posts.id FROM {posts} AS posts WHERE {} ORDER BY posts.id",
                    condition.sql
                );
                let error = connection
                    .ids(&sql, &condition.params)
                    .await
                    .expect_err(&format!("{plan:?} as `{sql}`"));
                assert!(
                    error.to_string().contains("operator does not exist"),
                    "{plan:?}: {error}"
                );
            }
        }
        .boxed()
    })
    .await;
}
