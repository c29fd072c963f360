//! Reading a register: CSV (UTF-8, BOM optional, comma, tab or semicolon) or XLSX (first
//! sheet), told apart by content, into rows of cells; then finding the header row under any
//! title rows and checking that every required column is there.

use std::collections::BTreeMap;
use std::io::Cursor;

use super::columns::{column_of, Column, Need};
use super::{BOM, HEADER_SEARCH, MAX_COLUMNS, MAX_ROWS, MAX_UNPACKED};
use crate::domain::text::clean;
use crate::error::{Error, FieldError, Result};

/// One cell as text, and whether the spreadsheet stored it as a number.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// The text a clerk sees.
    pub text: String,
    /// Whether the spreadsheet stored a number.
    pub numeric: bool,
}

/// A non-blank row of the sheet and its spreadsheet row number.
#[derive(Debug)]
pub struct SheetRow {
    /// The spreadsheet row number.
    pub number: u32,
    /// The cells, by column.
    pub cells: Vec<Cell>,
}

impl SheetRow {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.text.trim().is_empty())
    }
}

/// A 422 on the uploaded file.
pub fn file_error(message: impl Into<String>) -> Error {
    Error::field("file", message)
}

fn too_many_rows() -> Error {
    file_error(format!(
        "has more than {MAX_ROWS} rows; split the register into smaller files"
    ))
}

/// Reads the upload as XLSX (zip magic) or CSV (UTF-8 text); anything else is 422 on `file`.
pub fn parse_table(bytes: &[u8]) -> Result<Vec<SheetRow>> {
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

fn parse_csv(text: &str) -> Result<Vec<SheetRow>> {
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

fn parse_xlsx(bytes: &[u8]) -> Result<Vec<SheetRow>> {
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

/// The located header: where each known column is, and the data rows under it.
pub struct Table {
    /// Where each known column is in the sheet.
    pub columns: Vec<Option<usize>>,
    /// The data rows, blank ones left out.
    pub rows: Vec<SheetRow>,
}

impl Table {
    /// The trimmed text of a known column in a row ("" when absent).
    pub fn text<'a>(&self, row: &'a SheetRow, column: usize) -> &'a str {
        self.cell(row, column).map(|c| c.text.trim()).unwrap_or("")
    }

    /// The cell of a known column in a row.
    pub fn cell<'a>(&self, row: &'a SheetRow, column: usize) -> Option<&'a Cell> {
        self.columns
            .get(column)
            .copied()
            .flatten()
            .and_then(|i| row.cells.get(i))
    }

    /// The text of an optional column, `None` when blank.
    pub fn optional(&self, row: &SheetRow, column: usize) -> Option<String> {
        clean(Some(self.text(row, column).to_string()))
    }
}

/// Finds the header row (the first row, or the first with two known columns under a title),
/// and refuses a header that lacks a required column or names one twice.
pub fn locate_header(
    mut rows: Vec<SheetRow>,
    columns: &[Column],
    village_default: bool,
) -> Result<Table> {
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
    Error::check(errors)?;
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

/// Parses an upload and checks its header: nothing is written before this passes.
pub fn read(bytes: &[u8], columns: &[Column], village_default: bool) -> Result<Table> {
    parse_table(bytes).and_then(|rows| locate_header(rows, columns, village_default))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let bytes =
            crate::import::template::xlsx(&crate::import::columns::PERSONS).unwrap_or_default();
        let size = unpacked_size(&bytes);
        assert!(
            size.is_some_and(|n| n > bytes.len() as u64 && n < MAX_UNPACKED),
            "{size:?}"
        );
        assert_eq!(unpacked_size(b"PK\x03\x04 not a zip"), None);
    }
}
