//! Importing registers from Excel/CSV: persons and helpers, with a per-row report.
//!
//! The upload is a multipart form with the field `file`: CSV (UTF-8, BOM optional) or XLSX
//! (first sheet), told apart by content. The header row names the columns in English or
//! Chinese; unknown columns are ignored, a missing required one refuses the whole file.
//! Every data row is validated exactly as `POST /persons` (or `POST /helpers`) would; the
//! valid rows are written together in one transaction, the rest reported row by row.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use actix_multipart::{Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::org_units::UnitOut;
use super::persons::{audit, validate_fields, PersonIn, CARE_ROLES};
use crate::auth::{Caller, Scope};
use crate::db::schema::{helpers, org_units, persons};
use crate::domain::pii::PiiCipher;
use crate::domain::roles::{HelperKind, UnitKind};
use crate::domain::text::{clean, phone_ok};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::Query;
use crate::http::AppState;

/// The largest import request body accepted (the multipart form, file included).
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;
/// How long an upload may take to arrive (16 MiB at about 1 Mbit/s), against trickling clients.
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// The most data rows one file may hold; larger registers are split into several files.
pub const MAX_ROWS: usize = 50_000;
/// The most an XLSX file may unpack to (its parts' declared sizes), against zip bombs.
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
/// Columns beyond this are ignored (a stray cell at column XFD must not cost memory).
const MAX_COLUMNS: usize = 256;
/// Rows per lookup and per multi-row insert (persons: 16 binds a row, well under 65535).
const CHUNK: usize = 1000;
/// How far down a title row may push the header row.
const HEADER_SEARCH: usize = 5;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `?format=` of a template.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The multipart form of an import (documentation only: the handler streams it). It holds the
/// one field `file`; any other part is refused (400), as unknown JSON fields are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUpload {
    /// The register: CSV (UTF-8, BOM optional) or XLSX (first sheet), with a header row.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// A downloaded XLSX workbook (documentation only).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SpreadsheetFile(pub Vec<u8>);

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Written.
    Created,
    /// Already registered, or a repeat of an earlier row of the file; not written.
    Duplicate,
    /// Failed validation (see `errors`); not written.
    Invalid,
}

/// One row of a persons import report.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonImportRow {
    /// The spreadsheet row number (the header is row 1 when it is the first row).
    pub row: u32,
    /// `created`, `duplicate` or `invalid`.
    pub status: RowStatus,
    /// The new person; for a duplicate the registered person if in your scope; else null.
    pub person_id: Option<Uuid>,
    /// Why the row is invalid (or which registration it duplicates); empty when created.
    pub errors: Vec<FieldError>,
}

/// The answer of `POST /persons/import`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonImportReport {
    /// Rows written.
    pub created: usize,
    /// Rows already registered or repeated in the file.
    pub duplicates: usize,
    /// Rows that failed validation.
    pub invalid: usize,
    /// Every non-blank data row, in file order.
    pub rows: Vec<PersonImportRow>,
}

/// One row of a helpers import report.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelperImportRow {
    /// The spreadsheet row number (the header is row 1 when it is the first row).
    pub row: u32,
    /// `created`, `duplicate` or `invalid`.
    pub status: RowStatus,
    /// The new helper, or for a duplicate the existing one; null when invalid.
    pub helper_id: Option<Uuid>,
    /// Why the row is invalid (or what it duplicates); empty when created.
    pub errors: Vec<FieldError>,
}

/// The answer of `POST /helpers/import`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelperImportReport {
    /// Rows written.
    pub created: usize,
    /// Rows identical to an existing helper (name, phone, village) or repeated in the file.
    pub duplicates: usize,
    /// Rows that failed validation.
    pub invalid: usize,
    /// Every non-blank data row, in file order.
    pub rows: Vec<HelperImportRow>,
}

// ---------------------------------------------------------------------------------------
// Columns

/// When a column must be in the header.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
    /// Required unless the caller is village staff (their own village is the default).
    UnlessVillage,
}

/// One known column: its English key, the Chinese header of the template, other spellings.
struct Column {
    key: &'static str,
    zh: &'static str,
    aliases: &'static [&'static str],
    need: Need,
    /// Width in the XLSX template.
    width: f64,
    /// Formatted as text in the XLSX template, so Excel keeps every digit.
    text: bool,
}

const P_NAME: usize = 0;
const P_ID: usize = 1;
const P_CERT: usize = 2;
const P_CATEGORY: usize = 3;
const P_GRADE: usize = 4;
const P_VILLAGE: usize = 5;
const P_PHONE: usize = 6;
const P_ADDRESS: usize = 7;
const P_GUARDIAN: usize = 8;
const P_GUARDIAN_PHONE: usize = 9;

const PERSON_COLUMNS: &[Column] = &[
    Column {
        key: "name",
        zh: "姓名",
        aliases: &["残疾人姓名"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    Column {
        key: "id_number",
        zh: "身份证号",
        aliases: &[
            "身份证号码",
            "身份证",
            "公民身份号码",
            "居民身份证号",
            "居民身份证号码",
        ],
        need: Need::Required,
        width: 22.0,
        text: true,
    },
    Column {
        key: "disability_cert_number",
        zh: "残疾人证号",
        aliases: &["残疾证号", "残疾人证号码", "残疾证号码", "残疾人证"],
        need: Need::Optional,
        width: 24.0,
        text: true,
    },
    Column {
        key: "disability_category",
        zh: "残疾类别",
        aliases: &["残疾类型", "类别"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    Column {
        key: "disability_grade",
        zh: "残疾等级",
        aliases: &["残疾级别", "等级"],
        need: Need::Required,
        width: 10.0,
        text: false,
    },
    Column {
        key: "village_code",
        zh: "村(社区)代码",
        aliases: &[
            "村代码",
            "社区代码",
            "村(居)代码",
            "村(居)委会代码",
            "村(社区)编码",
        ],
        need: Need::UnlessVillage,
        width: 16.0,
        text: true,
    },
    Column {
        key: "phone",
        zh: "电话",
        aliases: &["联系电话", "手机", "手机号", "手机号码", "电话号码"],
        need: Need::Optional,
        width: 15.0,
        text: true,
    },
    Column {
        key: "address",
        zh: "地址",
        aliases: &["住址", "家庭住址", "现住址", "居住地址"],
        need: Need::Optional,
        width: 30.0,
        text: false,
    },
    Column {
        key: "guardian_name",
        zh: "监护人",
        aliases: &["监护人姓名"],
        need: Need::Optional,
        width: 12.0,
        text: false,
    },
    Column {
        key: "guardian_phone",
        zh: "监护人电话",
        aliases: &["监护人联系电话", "监护人手机", "监护人手机号"],
        need: Need::Optional,
        width: 15.0,
        text: true,
    },
];

const H_NAME: usize = 0;
const H_PHONE: usize = 1;
const H_KIND: usize = 2;
const H_VILLAGE: usize = 3;

const HELPER_COLUMNS: &[Column] = &[
    Column {
        key: "name",
        zh: "姓名",
        aliases: &["包保人姓名", "帮扶人姓名"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    Column {
        key: "phone",
        zh: "电话",
        aliases: &["联系电话", "手机", "手机号", "手机号码", "电话号码"],
        need: Need::Optional,
        width: 15.0,
        text: true,
    },
    Column {
        key: "kind",
        zh: "类型",
        aliases: &["类别", "身份", "人员类型"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    Column {
        key: "village_code",
        zh: "村(社区)代码",
        aliases: &[
            "村代码",
            "社区代码",
            "村(居)代码",
            "村(居)委会代码",
            "村(社区)编码",
        ],
        need: Need::UnlessVillage,
        width: 16.0,
        text: true,
    },
];

/// A header cell reduced to what identifies it: no BOM, "required" marks, separators or case.
fn header_key(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .filter(|c| !matches!(c, '\u{feff}' | '_' | '-') && !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    for mark in ["(必填)", "(选填)", "(可选)", "*", "＊"] {
        s = s.replace(mark, "");
    }
    s
}

/// Which known column a header cell names.
fn column_of(columns: &[Column], raw: &str) -> Option<usize> {
    let key = header_key(raw);
    if key.is_empty() {
        return None;
    }
    columns.iter().position(|c| {
        key == header_key(c.key)
            || key == header_key(c.zh)
            || c.aliases.iter().any(|a| key == header_key(a))
    })
}

// ---------------------------------------------------------------------------------------
// Reading the upload

/// Streams the multipart body (at most `IMPORT_LIMIT` bytes, within `UPLOAD_TIMEOUT`) and
/// returns the `file` field.
async fn read_upload(req: &HttpRequest, payload: web::Payload) -> AppResult<Vec<u8>> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        return Err(AppError::UnsupportedMediaType(
            "send the register as multipart/form-data with the field `file`",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > IMPORT_LIMIT as u64) {
        return Err(AppError::PayloadTooLarge(IMPORT_LIMIT));
    }
    let mut seen = 0usize;
    let limited = payload.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > IMPORT_LIMIT {
            Err(PayloadError::Overflow)
        } else {
            Ok(chunk)
        }
    });
    let mut form = Multipart::new(req.headers(), limited);
    let read = async {
        let mut file: Option<Vec<u8>> = None;
        while let Some(field) = form.next().await {
            let mut field = field.map_err(multipart_error)?;
            if field.name() != Some("file") {
                return Err(AppError::Malformed(
                    "the form may hold only the field `file`".into(),
                ));
            }
            let wanted = file.is_none();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(multipart_error)?;
                if wanted {
                    bytes.extend_from_slice(&chunk);
                }
            }
            if wanted {
                file = Some(bytes);
            }
        }
        Ok::<_, AppError>(file)
    };
    let file = tokio::time::timeout(UPLOAD_TIMEOUT, read)
        .await
        .map_err(|_| AppError::RequestTimeout)??;
    file.ok_or_else(|| {
        AppError::Malformed("the form has no field `file`: send the register as `file`".into())
    })
}

fn multipart_error(e: MultipartError) -> AppError {
    match e {
        MultipartError::Payload(PayloadError::Overflow) => AppError::PayloadTooLarge(IMPORT_LIMIT),
        other => AppError::Malformed(format!("the multipart form is not readable: {other}")),
    }
}

// ---------------------------------------------------------------------------------------
// Parsing a table

/// One cell as text, and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default)]
struct Cell {
    text: String,
    numeric: bool,
}

/// A non-blank row of the sheet and its spreadsheet row number.
#[derive(Debug)]
struct SheetRow {
    number: u32,
    cells: Vec<Cell>,
}

impl SheetRow {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.text.trim().is_empty())
    }
}

fn file_error(message: impl Into<String>) -> AppError {
    AppError::field("file", message)
}

fn too_many_rows() -> AppError {
    file_error(format!(
        "has more than {MAX_ROWS} rows; split the register into smaller files"
    ))
}

/// Reads the upload as XLSX (zip magic) or CSV (UTF-8 text); anything else is 422 on `file`.
fn parse_table(bytes: &[u8]) -> AppResult<Vec<SheetRow>> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(file_error("is empty"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return parse_xlsx(bytes);
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(file_error(
            "is an old-style .xls workbook; save it as .xlsx (or as CSV UTF-8) and upload again",
        ));
    }
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !t.contains('\0'))
        .ok_or_else(|| {
            file_error(
                "is neither an XLSX workbook nor UTF-8 CSV text; save it as .xlsx or as CSV UTF-8",
            )
        })?;
    parse_csv(text)
}

/// The field separator: a comma unless the first line clearly uses tabs or semicolons.
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.contains(',') {
        b','
    } else if first.contains('\t') {
        b'\t'
    } else if first.contains(';') {
        b';'
    } else {
        b','
    }
}

fn parse_csv(text: &str) -> AppResult<Vec<SheetRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    // the spreadsheet row of a record: blank lines count, newlines inside quotes do not
    let mut number: u64 = 0;
    let mut last_line: u64 = 0;
    let mut last_extra: u64 = 0;
    for record in reader.records() {
        let record = record.map_err(|e| file_error(format!("is not readable as CSV: {e}")))?;
        // a record's position is where the parser stood, before the blank lines it skipped
        let line = record
            .position()
            .map(|p| {
                let skipped = text
                    .as_bytes()
                    .get(usize::try_from(p.byte()).unwrap_or(usize::MAX)..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .filter(|b| **b == b'\n')
                    .count();
                p.line() + skipped as u64
            })
            .unwrap_or(last_line + 1);
        number = if last_line == 0 {
            line
        } else {
            number + line.saturating_sub(last_line + last_extra).max(1)
        };
        last_line = line;
        last_extra = record.iter().map(|f| f.matches('\n').count() as u64).sum();
        let row = SheetRow {
            number: u32::try_from(number).map_err(|_| too_many_rows())?,
            cells: record
                .iter()
                .take(MAX_COLUMNS)
                .map(|f| Cell {
                    text: f.to_string(),
                    numeric: false,
                })
                .collect(),
        };
        if row.is_blank() {
            continue;
        }
        out.push(row);
        if out.len() > MAX_ROWS + HEADER_SEARCH {
            return Err(too_many_rows());
        }
    }
    Ok(out)
}

/// Renders a spreadsheet value as the text a clerk sees (integers without ".0").
fn render(value: &calamine::DataRef<'_>) -> Option<Cell> {
    use calamine::DataRef as D;
    let (text, numeric) = match value {
        D::Empty => return None,
        D::String(s) | D::DateTimeIso(s) | D::DurationIso(s) => (s.clone(), false),
        D::SharedString(s) => ((*s).to_string(), false),
        D::Int(i) => (i.to_string(), true),
        D::Float(f) => (render_float(*f), true),
        D::Bool(b) => (b.to_string(), false),
        D::DateTime(d) => (render_float(d.as_f64()), true),
        D::Error(e) => (e.to_string(), false),
    };
    Some(Cell { text, numeric })
}

fn render_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// The sum of the sizes a zip's central directory declares, when it can be read.
fn unpacked_size(bytes: &[u8]) -> Option<u64> {
    let u16_at = |i: usize| -> Option<u64> {
        bytes
            .get(i..i + 2)
            .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |i: usize| -> Option<u64> {
        bytes
            .get(i..i + 4)
            .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    };
    let last = bytes.len().checked_sub(22)?;
    let eocd = (last.saturating_sub(65_535)..=last)
        .rev()
        .find(|&i| bytes.get(i..i + 4) == Some(b"PK\x05\x06"))?;
    let entries = u16_at(eocd + 10)?;
    let mut at = usize::try_from(u32_at(eocd + 16)?).ok()?;
    let mut total = 0u64;
    for _ in 0..entries {
        if bytes.get(at..at + 4) != Some(b"PK\x01\x02") {
            return None;
        }
        let size = u32_at(at + 24)?;
        // 0xFFFFFFFF means "see the zip64 record": count it as the huge size it stands for
        total = total.saturating_add(if size == u64::from(u32::MAX) {
            u64::MAX
        } else {
            size
        });
        let skip = 46 + u16_at(at + 28)? + u16_at(at + 30)? + u16_at(at + 32)?;
        at = at.checked_add(usize::try_from(skip).ok()?)?;
    }
    Some(total)
}

fn parse_xlsx(bytes: &[u8]) -> AppResult<Vec<SheetRow>> {
    use calamine::Reader;
    let unreadable =
        |e: &dyn std::fmt::Display| file_error(format!("is not a readable XLSX workbook ({e})"));
    if unpacked_size(bytes).is_some_and(|n| n > MAX_UNPACKED) {
        return Err(file_error(format!(
            "unpacks to more than {} MiB; split the register into smaller files",
            MAX_UNPACKED / 1024 / 1024
        )));
    }
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let first = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| file_error("has no worksheet"))?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|e| unreadable(&e))?;
    let mut rows: BTreeMap<u32, Vec<Cell>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
        let (r, c) = cell.get_position();
        let c = c as usize;
        if c >= MAX_COLUMNS {
            continue;
        }
        let Some(mut value) = render(cell.get_value()) else {
            continue;
        };
        if value.text.contains('\0') {
            // an `_x0000_` escape in the sheet: PostgreSQL text cannot hold U+0000
            value.text = value.text.replace('\0', "");
        }
        if value.text.trim().is_empty() {
            continue;
        }
        if !rows.contains_key(&r) && rows.len() > MAX_ROWS + HEADER_SEARCH {
            return Err(too_many_rows());
        }
        let row = rows.entry(r).or_default();
        if row.len() <= c {
            row.resize(c + 1, Cell::default());
        }
        row[c] = value;
    }
    Ok(rows
        .into_iter()
        .map(|(r, cells)| SheetRow {
            number: r.saturating_add(1),
            cells,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// The header

/// The located header: where each known column is, and the data rows under it.
struct Table {
    columns: Vec<Option<usize>>,
    rows: Vec<SheetRow>,
}

impl Table {
    /// The trimmed text of a known column in a row ("" when absent).
    fn text<'a>(&self, row: &'a SheetRow, column: usize) -> &'a str {
        self.cell(row, column).map(|c| c.text.trim()).unwrap_or("")
    }

    fn cell<'a>(&self, row: &'a SheetRow, column: usize) -> Option<&'a Cell> {
        self.columns
            .get(column)
            .copied()
            .flatten()
            .and_then(|i| row.cells.get(i))
    }

    /// The text of an optional column, `None` when blank.
    fn optional(&self, row: &SheetRow, column: usize) -> Option<String> {
        clean(Some(self.text(row, column).to_string()))
    }
}

/// Finds the header row (the first row, or the first with two known columns under a title),
/// and refuses a header that lacks a required column or names one twice.
fn locate_header(
    mut rows: Vec<SheetRow>,
    columns: &[Column],
    village_default: bool,
) -> AppResult<Table> {
    if rows.is_empty() {
        return Err(file_error("has no header row"));
    }
    let known = |r: &SheetRow| {
        r.cells
            .iter()
            .filter(|c| column_of(columns, &c.text).is_some())
            .count()
    };
    let at = rows
        .iter()
        .take(HEADER_SEARCH)
        .position(|r| known(r) >= 2)
        .unwrap_or(0);
    let data = rows.split_off(at + 1);
    let header = rows.pop().ok_or_else(|| file_error("has no header row"))?;
    let mut found: Vec<Option<usize>> = vec![None; columns.len()];
    let mut errors = Vec::new();
    for (i, cell) in header.cells.iter().enumerate() {
        if let Some(k) = column_of(columns, &cell.text) {
            if found[k].is_some() {
                errors.push(FieldError::new(
                    columns[k].key,
                    format!(
                        "the header names the {} ({}) column twice",
                        columns[k].key, columns[k].zh
                    ),
                ));
            } else {
                found[k] = Some(i);
            }
        }
    }
    for (k, c) in columns.iter().enumerate() {
        let required = match c.need {
            Need::Required => true,
            Need::Optional => false,
            Need::UnlessVillage => !village_default,
        };
        if required && found[k].is_none() {
            errors.push(FieldError::new(
                c.key,
                format!(
                    "the header (row {}) has no {} ({}) column",
                    header.number, c.key, c.zh
                ),
            ));
        }
    }
    AppError::check(errors)?;
    // a row with nothing under any known column (a footnote, a signature) holds nothing to import
    let data: Vec<SheetRow> = data
        .into_iter()
        .filter(|r| {
            found
                .iter()
                .flatten()
                .any(|&i| r.cells.get(i).is_some_and(|c| !c.text.trim().is_empty()))
        })
        .collect();
    if data.len() > MAX_ROWS {
        return Err(too_many_rows());
    }
    Ok(Table {
        columns: found,
        rows: data,
    })
}

/// Receives, parses and checks the header of an upload; nothing is written before this passes.
async fn read_table(
    req: &HttpRequest,
    payload: web::Payload,
    columns: &'static [Column],
    village_default: bool,
) -> AppResult<Table> {
    let bytes = read_upload(req, payload).await?;
    web::block(move || {
        parse_table(&bytes).and_then(|rows| locate_header(rows, columns, village_default))
    })
    .await
    .map_err(AppError::internal)?
}

// ---------------------------------------------------------------------------------------
// Values

/// A disability grade as clerks write it: "2", "2.0", "2级", "二级", "Ⅱ级".
fn parse_grade(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let s = s.strip_suffix('级').unwrap_or(s).trim();
    let word = match s {
        "一" | "壹" | "Ⅰ" | "１" => Some(1),
        "二" | "贰" | "Ⅱ" | "２" => Some(2),
        "三" | "叁" | "Ⅲ" | "３" => Some(3),
        "四" | "肆" | "Ⅳ" | "４" => Some(4),
        _ => None,
    };
    word.or_else(|| s.parse::<i64>().ok()).or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e6)
            .map(|f| f as i64)
    })
}

/// A helper kind: the English word (any case) or its Chinese name.
fn parse_kind(raw: &str) -> Option<HelperKind> {
    let s = raw.trim();
    HelperKind::parse(&s.to_ascii_lowercase()).or(match s {
        "村干部" | "村(社区)干部" | "村（社区）干部" | "社区干部" => {
            Some(HelperKind::VillageCadre)
        }
        "志愿者" | "助残志愿者" => Some(HelperKind::Volunteer),
        "党员" | "共产党员" => Some(HelperKind::PartyMember),
        "网格员" => Some(HelperKind::GridWorker),
        "亲属" | "家属" | "家人" => Some(HelperKind::Family),
        "其他" | "其它" => Some(HelperKind::Other),
        _ => None,
    })
}

/// As `POST /persons` checks a phone.
fn phone(field: &str, v: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = clean(v);
    if v.as_ref().is_some_and(|p| !phone_ok(p)) {
        errors.push(FieldError::new(
            field,
            "must be 5–20 digits (spaces, + and - allowed)",
        ));
    }
    v
}

/// As `POST /persons` checks free text.
fn text(
    field: &str,
    v: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = clean(v);
    if v.as_ref().is_some_and(|s| s.chars().count() > max) {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
    v
}

/// How a row names its village, before the codes are looked up.
enum VillageRef {
    /// The caller's own village (village staff, column blank or absent).
    Own,
    /// A well-formed 12-digit code.
    Code(String),
    /// Nothing usable; the error is already recorded.
    Bad,
}

fn village_ref(raw: &str, own: bool, errors: &mut Vec<FieldError>) -> VillageRef {
    let code = raw.trim();
    if code.is_empty() {
        if own {
            return VillageRef::Own;
        }
        errors.push(FieldError::new("village_code", "is required"));
        return VillageRef::Bad;
    }
    if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
        VillageRef::Code(code.to_string())
    } else {
        errors.push(FieldError::new(
            "village_code",
            "must be the 12-digit code of a village",
        ));
        VillageRef::Bad
    }
}

/// The villages a file names, resolved with one query, in the caller's scope.
struct Villages {
    own: Option<UnitOut>,
    by_code: HashMap<String, UnitOut>,
}

impl Villages {
    async fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        refs: &[&VillageRef],
    ) -> AppResult<Villages> {
        let mut codes: Vec<String> = refs
            .iter()
            .filter_map(|r| match r {
                VillageRef::Code(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        codes.sort();
        codes.dedup();
        let mut by_code = HashMap::new();
        for chunk in codes.chunks(CHUNK) {
            let units: Vec<UnitOut> = crate::db::queries::scope::org_units(caller.scope)
                .filter(org_units::code.eq_any(chunk))
                .select(UnitOut::as_select())
                .load(conn)
                .await?;
            by_code.extend(units.into_iter().map(|u| (u.code.clone(), u)));
        }
        let own = match (
            caller.scope,
            refs.iter().any(|r| matches!(r, VillageRef::Own)),
        ) {
            (Scope::Village(v), true) => {
                Some(super::org_units::load_in_scope(conn, caller.scope, v).await?)
            }
            _ => None,
        };
        Ok(Villages { own, by_code })
    }

    /// The village of a row, or an error on `village_code`.
    fn resolve(&self, r: &VillageRef, errors: &mut Vec<FieldError>) -> Option<UnitOut> {
        let unit = match r {
            VillageRef::Bad => return None,
            VillageRef::Own => self.own.clone(),
            VillageRef::Code(c) => self.by_code.get(c).cloned(),
        };
        match unit {
            Some(u) if u.kind == UnitKind::Village.as_str() => Some(u),
            Some(_) => {
                errors.push(FieldError::new("village_code", "must be a village"));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "village_code",
                    "no such village in your scope",
                ));
                None
            }
        }
    }
}

fn own_village_default(caller: &Caller) -> bool {
    matches!(caller.scope, Scope::Village(_))
}

// ---------------------------------------------------------------------------------------
// Persons

/// A person row checked and ready to insert.
struct Ready {
    id: Uuid,
    city_id: Uuid,
    town_id: Uuid,
    village_id: Uuid,
    name: String,
    id_number_enc: Vec<u8>,
    id_number_hash: Vec<u8>,
    /// Every hash the number may be stored under (more than one during a key rotation).
    lookup_hashes: Vec<Vec<u8>>,
    id_number_masked: String,
    category: &'static str,
    grade: i16,
    birth_date: chrono::NaiveDate,
    gender: &'static str,
    phone: Option<String>,
    address: Option<String>,
    guardian_name: Option<String>,
    guardian_phone: Option<String>,
}

/// A data row after validation.
struct Checked {
    row: u32,
    errors: Vec<FieldError>,
    /// Set when the row is valid.
    person: Option<Ready>,
}

fn check_person(
    table: &Table,
    row: &SheetRow,
    village: Option<UnitOut>,
    mut errors: Vec<FieldError>,
    pii: &PiiCipher,
) -> Checked {
    let input = PersonIn {
        name: table.text(row, P_NAME).to_string(),
        id_number: table.text(row, P_ID).to_string(),
        disability_cert_number: table.optional(row, P_CERT),
        disability_category: table.text(row, P_CATEGORY).to_string(),
        // an unreadable grade is reported exactly as an out-of-range one
        disability_grade: parse_grade(table.text(row, P_GRADE)).unwrap_or(0),
        birth_date: None,
        gender: None,
        phone: table.optional(row, P_PHONE),
        address: table.optional(row, P_ADDRESS),
        guardian_name: table.optional(row, P_GUARDIAN),
        guardian_phone: table.optional(row, P_GUARDIAN_PHONE),
        village_id: None,
    };
    let mut field_errors = Vec::new();
    let fields = validate_fields(&input, &mut field_errors);
    for (column, key) in [(P_ID, "id_number"), (P_CERT, "disability_cert_number")] {
        // a number in the cell, or "3.70883E+17" in a CSV that Excel saved
        let as_number = table
            .cell(row, column)
            .is_some_and(|c| c.numeric || c.text.contains("E+") || c.text.contains("e+"));
        if as_number {
            for e in field_errors.iter_mut().filter(|e| e.field == key) {
                e.message.push_str(
                    " (the cell holds a number, and Excel keeps only 15 digits: format the column as text)",
                );
            }
        }
    }
    let phone_v = phone("phone", input.phone, &mut field_errors);
    let guardian_phone = phone("guardian_phone", input.guardian_phone, &mut field_errors);
    let address = text("address", input.address, 300, &mut field_errors);
    let guardian_name = text("guardian_name", input.guardian_name, 100, &mut field_errors);
    // field errors first, in column order, then the village
    field_errors.append(&mut errors);
    let errors = field_errors;
    let person = match (fields, village) {
        (Some((name, rid, category, grade)), Some(v)) if errors.is_empty() => {
            let id = Uuid::now_v7();
            let clear = rid.expose();
            let lookup_hashes = pii.blind_indexes(clear);
            Some(Ready {
                id,
                city_id: v.city_id,
                town_id: v.town_id.unwrap_or(v.city_id),
                village_id: v.id,
                name,
                id_number_enc: pii.seal(id, "id_number", clear),
                // the current key's hash comes first
                id_number_hash: lookup_hashes
                    .as_slice()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| pii.blind_index(clear)),
                lookup_hashes,
                id_number_masked: rid.masked(),
                category: category.as_str(),
                grade,
                birth_date: rid.birth_date(),
                gender: rid.gender().as_str(),
                phone: phone_v,
                address,
                guardian_name,
                guardian_phone,
            })
        }
        _ => None,
    };
    Checked {
        row: row.number,
        errors,
        person,
    }
}

/// A condition on persons, for boxed queries.
type PersonsWhere = Box<dyn BoxableExpression<persons::table, diesel::pg::Pg, SqlType = Bool>>;

// `column IN (SELECT unnest($1))`: unlike `= ANY($1)`, the planner probes the column's index
// once per element even when the table's statistics are stale (right after a bulk import),
// instead of comparing every row against the whole array.

/// Persons whose ID hash is one of `hashes`.
fn hash_in(hashes: Vec<Vec<u8>>) -> PersonsWhere {
    Box::new(
        diesel::dsl::sql::<Bool>("persons.id_number_hash IN (SELECT unnest(")
            .bind::<Array<Bytea>, _>(hashes)
            .sql("))"),
    )
}

/// Persons whose id is one of `ids`.
fn id_in(ids: Vec<Uuid>) -> PersonsWhere {
    Box::new(
        diesel::dsl::sql::<Bool>("persons.id IN (SELECT unnest(")
            .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
            .sql("))"),
    )
}

/// The persons already registered under these numbers, keyed by the current hash of each:
/// hash → (id, whether in the caller's scope). `alias` maps every lookup hash (the previous
/// key's too, during a key rotation) to the current one.
async fn registered(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    alias: &HashMap<Vec<u8>, Vec<u8>>,
) -> AppResult<HashMap<Vec<u8>, (Uuid, bool)>> {
    let hashes: Vec<&Vec<u8>> = alias.keys().collect();
    let mut out = HashMap::new();
    for chunk in hashes.chunks(CHUNK) {
        let found: Vec<(Vec<u8>, Uuid)> = persons::table
            .into_boxed()
            .filter(hash_in(chunk.iter().map(|h| (*h).clone()).collect()))
            .select((persons::id_number_hash, persons::id))
            .load(conn)
            .await?;
        let ids: Vec<Uuid> = found.iter().map(|(_, id)| *id).collect();
        let visible: HashSet<Uuid> = crate::db::queries::scope::persons(caller)
            .filter(id_in(ids))
            .select(persons::id)
            .load::<Uuid>(conn)
            .await?
            .into_iter()
            .collect();
        for (h, id) in found {
            if let Some(current) = alias.get(&h) {
                out.insert(current.clone(), (id, visible.contains(&id)));
            }
        }
    }
    Ok(out)
}

async fn insert_persons(conn: &mut AsyncPgConnection, rows: &[Ready]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    persons::id.eq(p.id),
                    persons::city_id.eq(p.city_id),
                    persons::town_id.eq(p.town_id),
                    persons::village_id.eq(p.village_id),
                    persons::name.eq(&p.name),
                    persons::id_number_enc.eq(&p.id_number_enc),
                    persons::id_number_hash.eq(&p.id_number_hash),
                    persons::id_number_masked.eq(&p.id_number_masked),
                    persons::disability_category.eq(p.category),
                    persons::disability_grade.eq(p.grade),
                    persons::birth_date.eq(p.birth_date),
                    persons::gender.eq(p.gender),
                    persons::phone.eq(&p.phone),
                    persons::address.eq(&p.address),
                    persons::guardian_name.eq(&p.guardian_name),
                    persons::guardian_phone.eq(&p.guardian_phone),
                )
            })
            .collect();
        diesel::insert_into(persons::table)
            .values(values)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// `POST /api/v1/persons/import`: a CSV or XLSX register of persons (multipart field `file`).
///
/// Valid rows are created in one transaction; the report says what became of every row.
/// A request that is not `multipart/form-data` is 415; a form without `file` 400; a body over
/// 16 MiB 413; a file that is not CSV/XLSX, is empty, or lacks a required column 422 (on
/// `file` or on the column's key). In each of those cases nothing is written.
#[utoipa::path(post, path = "/api/v1/persons/import", tag = "import", security(("bearer" = [])),
    request_body(content = inline(ImportUpload), content_type = "multipart/form-data",
        description = "field `file`: CSV (UTF-8, BOM optional) or XLSX (first sheet); header in English or Chinese"),
    responses(
        (status = 200, description = "the per-row report (also when no row could be created)", body = PersonImportReport),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "only admin, town and village staff import", body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes (`request_timeout`)", body = crate::http::error::Problem),
        (status = 409, description = "a concurrent registration of the same ID number won (`duplicate`); nothing written", body = crate::http::error::Problem),
        (status = 413, description = "the body exceeds 16 MiB (`payload_too_large`)", body = crate::http::error::Problem),
        (status = 415, description = "the request is not multipart/form-data", body = crate::http::error::Problem),
        (status = 422, description = "the file is not CSV/XLSX, is empty, or its header lacks a required column (named as `field`)", body = crate::http::error::Problem)))]
pub async fn import_persons(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    caller.require(CARE_ROLES)?;
    let own = own_village_default(&caller);
    let table = read_table(&req, payload, PERSON_COLUMNS, own).await?;
    let mut conn = state.conn().await?;
    let mut refs = Vec::with_capacity(table.rows.len());
    let mut ref_errors = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut errors = Vec::new();
        refs.push(village_ref(table.text(row, P_VILLAGE), own, &mut errors));
        ref_errors.push(errors);
    }
    let villages = Villages::load(&mut conn, &caller, &refs.iter().collect::<Vec<_>>()).await?;
    // validating, sealing and hashing thousands of rows is CPU work: off the async workers
    let pii = state.pii.clone();
    let checked: Vec<Checked> = web::block(move || {
        table
            .rows
            .iter()
            .zip(refs.iter().zip(ref_errors))
            .map(|(row, (r, mut errors))| {
                let village = villages.resolve(r, &mut errors);
                check_person(&table, row, village, errors, &pii)
            })
            .collect()
    })
    .await
    .map_err(AppError::internal)?;
    let alias: HashMap<Vec<u8>, Vec<u8>> = checked
        .iter()
        .filter_map(|c| c.person.as_ref())
        .flat_map(|p| {
            p.lookup_hashes
                .iter()
                .map(|h| (h.clone(), p.id_number_hash.clone()))
        })
        .collect();
    let existing = registered(&mut conn, &caller, &alias).await?;

    // decide each row: in-file repeats point at the first row with that number
    let mut first_seen: HashMap<Vec<u8>, (u32, Option<Uuid>)> = HashMap::new();
    let mut to_insert = Vec::new();
    let mut report = PersonImportReport {
        created: 0,
        duplicates: 0,
        invalid: 0,
        rows: Vec::with_capacity(checked.len()),
    };
    for c in checked {
        let Some(p) = c.person else {
            report.invalid += 1;
            report.rows.push(PersonImportRow {
                row: c.row,
                status: RowStatus::Invalid,
                person_id: None,
                errors: c.errors,
            });
            continue;
        };
        let (status, person_id, errors) =
            if let Some((earlier, id)) = first_seen.get(&p.id_number_hash) {
                let e = FieldError::new("id_number", format!("repeats row {earlier} of this file"));
                (RowStatus::Duplicate, *id, vec![e])
            } else if let Some((id, visible)) = existing.get(&p.id_number_hash) {
                let shown = visible.then_some(*id);
                first_seen.insert(p.id_number_hash.clone(), (c.row, shown));
                let e = FieldError::new("id_number", "is already registered");
                (RowStatus::Duplicate, shown, vec![e])
            } else {
                first_seen.insert(p.id_number_hash.clone(), (c.row, Some(p.id)));
                let id = p.id;
                to_insert.push(p);
                (RowStatus::Created, Some(id), Vec::new())
            };
        match status {
            RowStatus::Created => report.created += 1,
            _ => report.duplicates += 1,
        }
        report.rows.push(PersonImportRow {
            row: c.row,
            status,
            person_id,
            errors,
        });
    }
    if !to_insert.is_empty() {
        let caller = &caller;
        conn.transaction::<_, AppError, _>(async move |conn| {
            insert_persons(conn, &to_insert).await?;
            audit(conn, caller, "import", None, &["persons"]).await
        })
        .await?;
    }
    Ok(HttpResponse::Ok().json(report))
}

// ---------------------------------------------------------------------------------------
// Helpers

/// A helper row checked and ready to insert.
struct HelperReady {
    id: Uuid,
    city_id: Uuid,
    town_id: Uuid,
    village_id: Uuid,
    name: String,
    phone: Option<String>,
    kind: HelperKind,
}

/// `POST /api/v1/helpers/import`: a CSV or XLSX register of helpers (multipart field `file`).
///
/// Columns: `name` 姓名, `phone` 电话, `kind` 类型 (the word or 村干部, 志愿者, 党员, 网格员,
/// 亲属/家属, 其他), `village_code` 村(社区)代码. A row identical to an existing helper (name,
/// phone, village) or to an earlier row is a `duplicate`. Errors as for the persons import.
#[utoipa::path(post, path = "/api/v1/helpers/import", tag = "import", security(("bearer" = [])),
    request_body(content = inline(ImportUpload), content_type = "multipart/form-data",
        description = "field `file`: CSV (UTF-8, BOM optional) or XLSX (first sheet); header in English or Chinese"),
    responses(
        (status = 200, description = "the per-row report (also when no row could be created)", body = HelperImportReport),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "only admin, town and village staff import", body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes (`request_timeout`)", body = crate::http::error::Problem),
        (status = 413, description = "the body exceeds 16 MiB (`payload_too_large`)", body = crate::http::error::Problem),
        (status = 415, description = "the request is not multipart/form-data", body = crate::http::error::Problem),
        (status = 422, description = "the file is not CSV/XLSX, is empty, or its header lacks a required column (named as `field`)", body = crate::http::error::Problem)))]
pub async fn import_helpers(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    caller.require(CARE_ROLES)?;
    let own = own_village_default(&caller);
    let table = read_table(&req, payload, HELPER_COLUMNS, own).await?;
    let mut conn = state.conn().await?;
    let mut refs = Vec::with_capacity(table.rows.len());
    let mut ref_errors = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut errors = Vec::new();
        refs.push(village_ref(table.text(row, H_VILLAGE), own, &mut errors));
        ref_errors.push(errors);
    }
    let villages = Villages::load(&mut conn, &caller, &refs.iter().collect::<Vec<_>>()).await?;
    let mut checked: Vec<(u32, Vec<FieldError>, Option<HelperReady>)> = Vec::new();
    for (row, (r, village_errors)) in table.rows.iter().zip(refs.iter().zip(ref_errors)) {
        let mut errors = Vec::new();
        let name = table.text(row, H_NAME).to_string();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                "is required (at most 100 characters)",
            ));
        }
        let phone_v = phone("phone", table.optional(row, H_PHONE), &mut errors);
        let kind = parse_kind(table.text(row, H_KIND));
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                format!(
                    "must be one of {} (or 村干部, 志愿者, 党员, 网格员, 亲属, 其他)",
                    HelperKind::words()
                ),
            ));
        }
        errors.extend(village_errors);
        let village = villages.resolve(r, &mut errors);
        let ready = match (kind, village) {
            (Some(kind), Some(v)) if errors.is_empty() => Some(HelperReady {
                id: Uuid::now_v7(),
                city_id: v.city_id,
                town_id: v.town_id.unwrap_or(v.city_id),
                village_id: v.id,
                name,
                phone: phone_v,
                kind,
            }),
            _ => None,
        };
        checked.push((row.number, errors, ready));
    }

    // existing helpers with the same name in the same villages, matched on phone in memory
    type Key = (Uuid, String, Option<String>);
    let mut village_ids: Vec<Uuid> = checked
        .iter()
        .filter_map(|(_, _, h)| h.as_ref().map(|h| h.village_id))
        .collect();
    village_ids.sort();
    village_ids.dedup();
    let mut names: Vec<String> = checked
        .iter()
        .filter_map(|(_, _, h)| h.as_ref().map(|h| h.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    let mut existing: HashMap<Key, Uuid> = HashMap::new();
    if !village_ids.is_empty() {
        for chunk in names.chunks(CHUNK) {
            let found: Vec<(Uuid, Uuid, String, Option<String>)> = helpers::table
                .filter(helpers::village_id.eq_any(&village_ids))
                .filter(helpers::name.eq_any(chunk))
                .order(helpers::id)
                .select((
                    helpers::id,
                    helpers::village_id,
                    helpers::name,
                    helpers::phone,
                ))
                .load(&mut conn)
                .await?;
            for (id, v, n, p) in found {
                existing.entry((v, n, p)).or_insert(id);
            }
        }
    }

    let mut first_seen: HashMap<Key, (u32, Uuid)> = HashMap::new();
    let mut to_insert = Vec::new();
    let mut report = HelperImportReport {
        created: 0,
        duplicates: 0,
        invalid: 0,
        rows: Vec::with_capacity(checked.len()),
    };
    for (row, errors, ready) in checked {
        let Some(h) = ready else {
            report.invalid += 1;
            report.rows.push(HelperImportRow {
                row,
                status: RowStatus::Invalid,
                helper_id: None,
                errors,
            });
            continue;
        };
        let key: Key = (h.village_id, h.name.clone(), h.phone.clone());
        let (status, helper_id, errors) = if let Some((earlier, id)) = first_seen.get(&key) {
            let e = FieldError::new("name", format!("repeats row {earlier} of this file"));
            (RowStatus::Duplicate, *id, vec![e])
        } else if let Some(id) = existing.get(&key) {
            first_seen.insert(key, (row, *id));
            let e = FieldError::new(
                "name",
                "a helper with this name and phone is already registered in this village",
            );
            (RowStatus::Duplicate, *id, vec![e])
        } else {
            first_seen.insert(key, (row, h.id));
            let id = h.id;
            to_insert.push(h);
            (RowStatus::Created, id, Vec::new())
        };
        match status {
            RowStatus::Created => report.created += 1,
            _ => report.duplicates += 1,
        }
        report.rows.push(HelperImportRow {
            row,
            status,
            helper_id: Some(helper_id),
            errors,
        });
    }
    if !to_insert.is_empty() {
        let caller = &caller;
        conn.transaction::<_, AppError, _>(async move |conn| {
            for chunk in to_insert.chunks(CHUNK) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|h| {
                        (
                            helpers::id.eq(h.id),
                            helpers::city_id.eq(h.city_id),
                            helpers::town_id.eq(h.town_id),
                            helpers::village_id.eq(h.village_id),
                            helpers::name.eq(&h.name),
                            helpers::phone.eq(&h.phone),
                            helpers::kind.eq(h.kind.as_str()),
                            helpers::active.eq(true),
                        )
                    })
                    .collect();
                diesel::insert_into(helpers::table)
                    .values(values)
                    .execute(conn)
                    .await?;
            }
            audit(conn, caller, "import", None, &["helpers"]).await
        })
        .await?;
    }
    Ok(HttpResponse::Ok().json(report))
}

// ---------------------------------------------------------------------------------------
// Templates

/// A template's format.
#[derive(Clone, Copy)]
enum TemplateFormat {
    Csv,
    Xlsx,
}

fn template_format(q: &TemplateQuery) -> AppResult<TemplateFormat> {
    match q.format.as_deref().map(|f| f.trim().to_ascii_lowercase()) {
        None => Ok(TemplateFormat::Csv),
        Some(f) if f.is_empty() || f == "csv" => Ok(TemplateFormat::Csv),
        Some(f) if f == "xlsx" => Ok(TemplateFormat::Xlsx),
        Some(_) => Err(AppError::field("format", "must be csv or xlsx")),
    }
}

/// Drop-down lists offered in the XLSX template: (column, choices).
type Choices = &'static [(usize, &'static [&'static str])];

const PERSON_CHOICES: Choices = &[
    (
        P_CATEGORY,
        &[
            "视力残疾",
            "听力残疾",
            "言语残疾",
            "肢体残疾",
            "智力残疾",
            "精神残疾",
            "多重残疾",
        ],
    ),
    (P_GRADE, &["一级", "二级", "三级", "四级"]),
];

const HELPER_CHOICES: Choices = &[(
    H_KIND,
    &["村干部", "志愿者", "党员", "网格员", "亲属", "其他"],
)];

fn template_csv(columns: &[Column]) -> AppResult<Vec<u8>> {
    let mut out = BOM.to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(columns.iter().map(|c| c.zh))
            .map_err(AppError::internal)?;
        w.flush().map_err(AppError::internal)?;
    }
    Ok(out)
}

fn template_xlsx(sheet_name: &str, columns: &[Column], choices: Choices) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{DataValidation, Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let as_text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(AppError::internal)?;
    let last_row = MAX_ROWS as u32;
    for (i, c) in columns.iter().enumerate() {
        let col = i as u16;
        sheet
            .set_column_width(col, c.width)
            .map_err(AppError::internal)?;
        if c.text {
            sheet
                .set_column_format(col, &as_text)
                .map_err(AppError::internal)?;
        }
        sheet
            .write_string_with_format(0, col, c.zh, &bold)
            .map_err(AppError::internal)?;
    }
    for (column, list) in choices {
        let validation = DataValidation::new()
            .allow_list_strings(list)
            .map_err(AppError::internal)?;
        let col = *column as u16;
        sheet
            .add_data_validation(1, col, last_row, col, &validation)
            .map_err(AppError::internal)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(AppError::internal)?;
    book.save_to_buffer().map_err(AppError::internal)
}

fn template(
    q: &TemplateQuery,
    file: &str,
    sheet_name: &str,
    columns: &[Column],
    choices: Choices,
) -> AppResult<HttpResponse> {
    let (body, content_type, ext) = match template_format(q)? {
        TemplateFormat::Csv => (template_csv(columns)?, "text/csv; charset=utf-8", "csv"),
        TemplateFormat::Xlsx => (
            template_xlsx(sheet_name, columns, choices)?,
            XLSX_TYPE,
            "xlsx",
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}.{ext}\""),
        ))
        .body(body))
}

/// `GET /api/v1/persons/import/template`: an empty register with the expected header.
///
/// The Chinese header row only; CSV starts with a UTF-8 BOM (so Excel reads it as UTF-8).
#[utoipa::path(get, path = "/api/v1/persons/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template (`persons-template.csv` or `.xlsx`)", content(
        (String = "text/csv"),
        (SpreadsheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "`format` is neither csv nor xlsx", body = crate::http::error::Problem)))]
pub async fn persons_template(_caller: Caller, q: Query<TemplateQuery>) -> AppResult<HttpResponse> {
    template(
        &q.0,
        "persons-template",
        "残疾人",
        PERSON_COLUMNS,
        PERSON_CHOICES,
    )
}

/// `GET /api/v1/helpers/import/template`: an empty helper register with the expected header.
#[utoipa::path(get, path = "/api/v1/helpers/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template (`helpers-template.csv` or `.xlsx`)", content(
        (String = "text/csv"),
        (SpreadsheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "`format` is neither csv nor xlsx", body = crate::http::error::Problem)))]
pub async fn helpers_template(_caller: Caller, q: Query<TemplateQuery>) -> AppResult<HttpResponse> {
    template(
        &q.0,
        "helpers-template",
        "包保人",
        HELPER_COLUMNS,
        HELPER_CHOICES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_english_and_chinese() {
        assert_eq!(column_of(PERSON_COLUMNS, " ID_Number "), Some(P_ID));
        assert_eq!(column_of(PERSON_COLUMNS, "id number"), Some(P_ID));
        assert_eq!(column_of(PERSON_COLUMNS, "\u{feff}姓名"), Some(P_NAME));
        assert_eq!(column_of(PERSON_COLUMNS, "村（社区）代码"), Some(P_VILLAGE));
        assert_eq!(column_of(PERSON_COLUMNS, "*身份证号"), Some(P_ID));
        assert_eq!(column_of(PERSON_COLUMNS, "备注"), None);
        assert_eq!(column_of(HELPER_COLUMNS, "类型"), Some(H_KIND));
    }

    #[test]
    fn grades_as_clerks_write_them() {
        for (raw, g) in [
            ("2", 2),
            ("2.0", 2),
            ("二级", 2),
            ("2级", 2),
            ("Ⅳ级", 4),
            (" 1 ", 1),
        ] {
            assert_eq!(parse_grade(raw), Some(g), "{raw}");
        }
        assert_eq!(parse_grade("2.5"), None);
        assert_eq!(parse_grade(""), None);
    }

    #[test]
    fn csv_rows_keep_spreadsheet_numbers() {
        let rows = parse_csv("a,b\n1,2\n\n\"x\ny\",3\n4,5\n").unwrap_or_default();
        let numbers: Vec<u32> = rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 2, 4, 5]);
    }

    #[test]
    fn floats_render_without_a_decimal_point() {
        assert_eq!(render_float(13800000000.0), "13800000000");
        assert_eq!(render_float(2.0), "2");
        assert_eq!(render_float(2.5), "2.5");
    }

    #[test]
    fn the_unpacked_size_of_a_workbook_is_read_from_its_directory() {
        let bytes = template_xlsx("残疾人", PERSON_COLUMNS, PERSON_CHOICES).unwrap_or_default();
        let size = unpacked_size(&bytes);
        assert!(
            size.is_some_and(|n| n > bytes.len() as u64 && n < MAX_UNPACKED),
            "{size:?}"
        );
        assert_eq!(unpacked_size(b"PK\x03\x04 not a zip"), None);
    }

    #[test]
    fn kinds_in_chinese() {
        assert_eq!(parse_kind("家属"), Some(HelperKind::Family));
        assert_eq!(parse_kind("Volunteer"), Some(HelperKind::Volunteer));
        assert_eq!(parse_kind("厨师"), None);
    }
}
