//! Empty registers to fill in: the Chinese header row as CSV (with a BOM, so Excel reads it as
//! UTF-8) or as an XLSX sheet with text-formatted number columns and drop-down lists.

use super::columns::{Column, Register};
use super::{BOM, MAX_ROWS, XLSX_TYPE};
use crate::error::{Error, Result};

/// A template's format.
#[derive(Clone, Copy)]
pub enum Format {
    /// CSV, UTF-8 with a BOM.
    Csv,
    /// An XLSX workbook.
    Xlsx,
}

impl Format {
    /// `csv` (also absent or empty) or `xlsx`, any case; 422 on `format` otherwise.
    pub fn parse(raw: Option<&str>) -> Result<Format> {
        match raw.map(|f| f.trim().to_ascii_lowercase()) {
            None => Ok(Format::Csv),
            Some(f) if f.is_empty() || f == "csv" => Ok(Format::Csv),
            Some(f) if f == "xlsx" => Ok(Format::Xlsx),
            Some(_) => Err(Error::field("format", "must be csv or xlsx")),
        }
    }
}

/// A rendered template: the bytes, their content type and the file name to save them as.
pub struct Template {
    /// The file.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: &'static str,
    /// `persons-template.csv` and the like.
    pub file_name: String,
}

/// The template of a register in a format.
pub fn render(register: &Register, format: Format) -> Result<Template> {
    let (body, content_type, ext) = match format {
        Format::Csv => (csv(register.columns)?, "text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (xlsx(register)?, XLSX_TYPE, "xlsx"),
    };
    Ok(Template {
        body,
        content_type,
        file_name: format!("{}.{ext}", register.file),
    })
}

/// The header row as CSV.
fn csv(columns: &[Column]) -> Result<Vec<u8>> {
    let mut out = BOM.to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(columns.iter().map(|c| c.zh))
            .map_err(Error::internal)?;
        w.flush().map_err(Error::internal)?;
    }
    Ok(out)
}

/// The header row as an XLSX sheet, number columns formatted as text, with drop-downs.
pub fn xlsx(register: &Register) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{DataValidation, Format, Workbook};
    let (sheet_name, columns, choices) = (register.sheet, register.columns, register.choices);
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let as_text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(Error::internal)?;
    let last_row = MAX_ROWS as u32;
    for (i, c) in columns.iter().enumerate() {
        let col = i as u16;
        sheet
            .set_column_width(col, c.width)
            .map_err(Error::internal)?;
        if c.text {
            sheet
                .set_column_format(col, &as_text)
                .map_err(Error::internal)?;
        }
        sheet
            .write_string_with_format(0, col, c.zh, &bold)
            .map_err(Error::internal)?;
    }
    for (column, list) in choices {
        let validation = DataValidation::new()
            .allow_list_strings(list)
            .map_err(Error::internal)?;
        let col = *column as u16;
        sheet
            .add_data_validation(1, col, last_row, col, &validation)
            .map_err(Error::internal)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(Error::internal)?;
    book.save_to_buffer().map_err(Error::internal)
}
