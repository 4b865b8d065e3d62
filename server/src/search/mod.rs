//! Full-text search (DESIGN §9): one tantivy index per workspace under
//! `<data dir>/search/<workspace id>`, fed from the audit log after commit. Each commit of
//! the index carries, as its payload, the last audit sequence number it contains, so the
//! index and its position move together; after a crash the next round (every second,
//! and before each search) catches up from there. `rebuild` indexes every record again.
//!
//! A record's searchable text is its text-like values (text, option values with both
//! languages' labels, lots, codes, auto-numbers, computed text, subtable cells) of fields
//! without read restrictions; fields only some roles may read are not indexed, so a hit can
//! never come from a field the caller may not see. Lots, codes and auto-numbers are also
//! indexed whole, for exact matches.

pub mod tokenizer;

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use engine::form::{CompiledForm, Field, FieldKind, data_fields};
use sea_orm::{DatabaseConnection, EntityTrait, Statement};
use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field as IndexField, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value as _,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use crate::db::entities::record;
use crate::error::ApiError;
use crate::forms_cache::FormsCache;

/// Audit entries applied per index commit.
const BATCH: i64 = 2_000;
/// Memory the index writer may use while adding documents.
const WRITER_MEMORY: usize = 32 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Fields {
    id: IndexField,
    form: IndexField,
    owner: IndexField,
    created: IndexField,
    body: IndexField,
    keys: IndexField,
}

pub struct WorkspaceIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// One writer at a time per index (tantivy's own lock would make a second one fail).
    writing: tokio::sync::Mutex<()>,
}

/// The open indexes of this process.
pub struct Search {
    dir: PathBuf,
    open: Mutex<HashMap<String, Arc<WorkspaceIndex>>>,
    /// One pool of search threads shared by every index, one thread per core: a query
    /// searches an index's segments in parallel (a large index has several).
    executor: tantivy::Executor,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer::NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        form: builder.add_text_field("form", STRING | STORED),
        owner: builder.add_text_field("owner", STRING),
        created: builder.add_i64_field("created", INDEXED | STORED),
        body: builder.add_text_field("body", text),
        keys: builder.add_text_field("keys", STRING | STORED),
    };
    (builder.build(), fields)
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("search index: {error}"))
}

impl Search {
    pub fn new(data_dir: &std::path::Path) -> Search {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let executor = if threads > 1 {
            tantivy::Executor::multi_thread(threads, "search-").unwrap_or(tantivy::Executor::SingleThread)
        } else {
            tantivy::Executor::SingleThread
        };
        Search { dir: data_dir.join("search"), open: Mutex::new(HashMap::new()), executor }
    }

    /// The workspace's index, opened (or created) once per process.
    pub fn workspace(&self, workspace_id: &str) -> Result<Arc<WorkspaceIndex>, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = open.get(workspace_id) {
            return Ok(found.clone());
        }
        let dir = self.dir.join(workspace_id);
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(&dir).map_err(internal)?;
        let mut index = Index::open_or_create(directory, schema).map_err(internal)?;
        index.set_executor(self.executor.clone());
        index.tokenizers().register(tokenizer::NAME, tokenizer::analyzer());
        let reader = index.reader().map_err(internal)?;
        let opened = Arc::new(WorkspaceIndex { index, reader, fields, writing: tokio::sync::Mutex::new(()) });
        open.insert(workspace_id.to_owned(), opened.clone());
        Ok(opened)
    }
}

/// The searchable text and the exact keys of a record.
pub fn document_text(form: &CompiledForm, data: &Value) -> (String, Vec<String>) {
    let mut body = Vec::new();
    let mut keys = Vec::new();
    fn add(field: &Field, value: &Value, body: &mut Vec<String>, keys: &mut Vec<String>) {
        match (&field.kind, value) {
            (FieldKind::Lot(_) | FieldKind::Barcode(_) | FieldKind::AutoNumber(_), Value::String(text)) => {
                body.push(text.clone());
                keys.push(text.trim().to_owned());
            }
            (FieldKind::Text(_) | FieldKind::Textarea(_) | FieldKind::Computed(_), Value::String(text)) => {
                body.push(text.clone())
            }
            (FieldKind::Select(_) | FieldKind::Multiselect(_), _) => {
                let options = match &field.kind {
                    FieldKind::Select(spec) => &spec.options,
                    FieldKind::Multiselect(spec) => &spec.options,
                    _ => return,
                };
                let chosen: Vec<&str> = match value {
                    Value::String(v) => vec![v.as_str()],
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                for v in chosen {
                    body.push(v.to_owned());
                    if let Some(option) = options.iter().find(|o| o.value.as_deref() == Some(v)) {
                        body.extend(option.label.en.iter().cloned());
                        body.extend(option.label.zh_cn.iter().cloned());
                    }
                }
            }
            (FieldKind::Subtable(table), Value::Array(rows)) => {
                let cells: Vec<&Field> = data_fields(&table.fields).into_iter().map(|(f, _)| f).collect();
                for row in rows {
                    for cell in &cells {
                        if let Some(v) = row.get(&cell.key) {
                            add(cell, v, body, keys);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (field, _) in data_fields(&form.definition().fields) {
        let restricted = field.common.access.as_ref().is_some_and(|a| !a.read.is_empty());
        if restricted {
            continue;
        }
        if let Some(value) = data.get(&field.key) {
            add(field, value, &mut body, &mut keys);
        }
    }
    (body.join("\n"), keys)
}

fn document(fields: Fields, found: &record::Model, form: &CompiledForm) -> TantivyDocument {
    let (body, keys) = document_text(form, &found.data);
    let mut doc = TantivyDocument::new();
    doc.add_text(fields.id, &found.id);
    doc.add_text(fields.form, &found.form_id);
    doc.add_text(fields.owner, &found.created_by);
    doc.add_i64(fields.created, found.created_at);
    doc.add_text(fields.body, &body);
    for key in keys {
        doc.add_text(fields.keys, &key);
    }
    doc
}

/// Replaces the documents of `ids` (those gone or deleted are only removed) and commits with
/// `seq` as the index's position.
async fn apply(
    db: &DatabaseConnection,
    forms: &FormsCache,
    index: &WorkspaceIndex,
    ids: Vec<String>,
    seq: i64,
) -> Result<(), ApiError> {
    let found = crate::changes::live_records(db, &ids).await?;
    let mut docs = Vec::with_capacity(found.len());
    for r in &found {
        let form = forms.get(db, &r.form_id, r.form_version).await?;
        docs.push(document(index.fields, r, &form));
    }
    let fields = index.fields;
    let tantivy_index = index.index.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let mut writer = tantivy_index.writer::<TantivyDocument>(WRITER_MEMORY).map_err(internal)?;
        for id in &ids {
            writer.delete_term(Term::from_field_text(fields.id, id));
        }
        for doc in docs {
            writer.add_document(doc).map_err(internal)?;
        }
        let mut commit = writer.prepare_commit().map_err(internal)?;
        commit.set_payload(&seq.to_string());
        commit.commit().map_err(internal)?;
        writer.wait_merging_threads().map_err(internal)
    })
    .await
    .map_err(internal)??;
    index.reader.reload().map_err(internal)
}

fn position(index: &WorkspaceIndex) -> Result<i64, ApiError> {
    let metas = index.index.load_metas().map_err(internal)?;
    Ok(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
}

/// Indexes the audit log past the index's position; returns the entries read.
pub async fn catch_up(
    db: &DatabaseConnection,
    forms: &FormsCache,
    search: &Search,
    workspace_id: &str,
) -> Result<usize, ApiError> {
    let index = search.workspace(workspace_id)?;
    let _writing = index.writing.lock().await;
    let mut total = 0;
    loop {
        let from = position(&index)?;
        let Some(page) = crate::changes::page(db, workspace_id, from, BATCH).await? else { return Ok(total) };
        apply(db, forms, &index, page.records, page.last).await?;
        total += page.read;
        if page.read < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Indexes every live record of the workspace again with one writer (one commit at the end,
/// whose position is the audit log's head when the rebuild began); `progress` hears the
/// count so far.
pub async fn rebuild(
    db: &DatabaseConnection,
    forms: &FormsCache,
    search: &Search,
    workspace_id: &str,
    mut progress: impl FnMut(usize),
) -> Result<usize, ApiError> {
    let index = search.workspace(workspace_id)?;
    let _writing = index.writing.lock().await;
    let backend = db.get_database_backend();
    let pg = backend == sea_orm::DbBackend::Postgres;
    let head = crate::changes::head(db, workspace_id).await?;
    let mut writer = index.index.writer::<TantivyDocument>(WRITER_MEMORY * 4).map_err(internal)?;
    writer.delete_all_documents().map_err(internal)?;
    let mut after = String::new();
    let mut done = 0;
    loop {
        let page = record::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT * FROM records WHERE workspace_id = {} AND id > {} AND deleted_at IS NULL ORDER BY id LIMIT 5000",
                    if pg { "$1" } else { "?1" },
                    if pg { "$2" } else { "?2" }
                ),
                [workspace_id.into(), after.clone().into()],
            ))
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for r in &page {
            let form = forms.get(db, &r.form_id, r.form_version).await?;
            let doc = document(index.fields, r, &form);
            // Adding may wait for the indexing threads: fine on a worker thread.
            tokio::task::block_in_place(|| writer.add_document(doc)).map_err(internal)?;
        }
        done += page.len();
        progress(done);
    }
    tokio::task::block_in_place(|| -> Result<(), ApiError> {
        let mut commit = writer.prepare_commit().map_err(internal)?;
        commit.set_payload(&head.to_string());
        commit.commit().map_err(internal)?;
        writer.wait_merging_threads().map_err(internal)
    })?;
    index.reader.reload().map_err(internal)?;
    Ok(done)
}

/// Keeps every workspace's index current, a round every second (`changes::FOLLOW_EVERY`), until `stop`.
pub async fn run(
    db: DatabaseConnection,
    forms: Arc<FormsCache>,
    search: Arc<Search>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let follower = db.clone();
    crate::changes::follow(follower, "search", stop, move |workspace| {
        let (db, forms, search) = (db.clone(), forms.clone(), search.clone());
        async move { catch_up(&db, &forms, &search, &workspace).await }
    })
    .await;
}

/// Which records of a form the caller may find.
pub enum Allowed {
    All,
    /// Only those the caller created.
    Own,
}

pub struct SearchQuery<'a> {
    pub text: &'a str,
    /// Form id -> what of it the caller may find.
    pub forms: &'a HashMap<String, Allowed>,
    pub caller: &'a str,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: usize,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Hit {
    pub record: String,
    pub form_id: String,
    pub created_at: i64,
    pub score: f32,
    /// The matching passage with matches in `<b>`.
    pub snippet: String,
    pub keys: Vec<String>,
}

/// The forms with documents in the index.
fn indexed_forms(searcher: &tantivy::Searcher, field: IndexField) -> Result<BTreeSet<String>, ApiError> {
    let mut forms = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field).map_err(internal)?;
        let mut terms = inverted.terms().stream().map_err(internal)?;
        while terms.advance() {
            forms.insert(String::from_utf8_lossy(terms.key()).into_owned());
        }
    }
    Ok(forms)
}

/// The hits for a query, best first.
///
/// The query is kept to plain term unions or intersections where it can be, so that tantivy
/// skips blocks of documents that cannot reach the top (block-max WAND): the exact-key
/// alternative is only added to queries without spaces, and the permission filter is left
/// out when the caller may find everything the index holds.
pub fn find(index: &WorkspaceIndex, query: &SearchQuery<'_>) -> Result<Vec<Hit>, ApiError> {
    let f = index.fields;
    let terms = tokenizer::terms(query.text);
    let exact = query.text.trim();
    if terms.is_empty() && exact.is_empty() {
        return Err(ApiError::new("bad_request", "q has nothing to search for"));
    }
    let term = |field, text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
    };
    let words: Vec<(Occur, Box<dyn Query>)> = terms.iter().map(|t| (Occur::Must, term(f.body, t))).collect();
    let text_query: Box<dyn Query> = if exact.contains(char::is_whitespace) {
        // Lots and numbers hold no spaces: all the words, nothing exact.
        Box::new(BooleanQuery::new(words))
    } else if terms.len() == 1 {
        Box::new(BooleanQuery::new(vec![
            (Occur::Should, term(f.body, &terms[0])),
            (Occur::Should, term(f.keys, exact)),
        ]))
    } else {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, term(f.keys, exact))];
        if !words.is_empty() {
            alternatives.push((Occur::Should, Box::new(BooleanQuery::new(words))));
        }
        Box::new(BooleanQuery::new(alternatives))
    };
    if query.forms.is_empty() {
        return Ok(Vec::new());
    }
    let searcher = index.reader.searcher();
    let everything = query.forms.values().all(|a| matches!(a, Allowed::All))
        && indexed_forms(&searcher, f.form)?.iter().all(|form| query.forms.contains_key(form));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
    if !everything {
        let forms: Vec<(Occur, Box<dyn Query>)> = query
            .forms
            .iter()
            .map(|(form, allowed)| {
                let form_term: Box<dyn Query> =
                    Box::new(TermQuery::new(Term::from_field_text(f.form, form), IndexRecordOption::Basic));
                let clause: Box<dyn Query> = match allowed {
                    Allowed::All => form_term,
                    Allowed::Own => Box::new(BooleanQuery::new(vec![
                        (Occur::Must, form_term),
                        (
                            Occur::Must,
                            Box::new(TermQuery::new(
                                Term::from_field_text(f.owner, query.caller),
                                IndexRecordOption::Basic,
                            )),
                        ),
                    ])),
                };
                (Occur::Should, clause)
            })
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(forms))));
    }
    if query.from_ms.is_some() || query.to_ms.is_some() {
        let bound = |v: Option<i64>, inclusive: bool| match v {
            Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.created, v)),
            Some(v) => Bound::Excluded(Term::from_field_i64(f.created, v)),
            None => Bound::Unbounded,
        };
        clauses.push((Occur::Must, Box::new(RangeQuery::new(bound(query.from_ms, true), bound(query.to_ms, false)))));
    }
    let searcher = index.reader.searcher();
    let combined = BooleanQuery::new(clauses);
    let top =
        searcher.search(&combined, &TopDocs::with_limit(query.limit.max(1)).order_by_score()).map_err(internal)?;
    let mut snippets = SnippetGenerator::create(&searcher, &text_query, f.body).map_err(internal)?;
    snippets.set_max_num_chars(160);
    let mut hits = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher.doc(address).map_err(internal)?;
        let text = |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        hits.push(Hit {
            record: text(f.id),
            form_id: text(f.form),
            created_at: doc.get_first(f.created).and_then(|v| v.as_i64()).unwrap_or(0),
            score,
            snippet: snippets.snippet_from_doc(&doc).to_html(),
            keys: doc.get_all(f.keys).filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        });
    }
    Ok(hits)
}
