//! Registers from spreadsheets: reading CSV and XLSX uploads, the columns of each register in
//! English and Chinese, the values clerks write, and the templates to fill in. No HTTP, no
//! database: the import service validates and writes the rows this reads.

pub mod columns;
pub mod sheet;
pub mod template;
pub mod values;

/// The most data rows one file may hold; larger registers are split into several files.
pub const MAX_ROWS: usize = 50_000;
/// The most an XLSX file may unpack to (its parts' declared sizes), against zip bombs.
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
/// Columns beyond this are ignored (a stray cell at column XFD must not cost memory).
const MAX_COLUMNS: usize = 256;
/// How far down a title row may push the header row.
const HEADER_SEARCH: usize = 5;

/// The content type of an XLSX workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The UTF-8 byte-order mark Excel writes (and wants) in CSV.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
