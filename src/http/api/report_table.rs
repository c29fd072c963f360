//! Reports as tables: one row for the unit, one per child unit; rendered as JSON, CSV (UTF-8
//! with BOM, so Excel opens it right) or XLSX, with English or Chinese headers.

use actix_web::{http::header, HttpResponse};
use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::reports::UnitRef;
use crate::http::error::{AppError, AppResult};

/// How to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// application/json.
    Json,
    /// text/csv with a BOM.
    Csv {
        /// Chinese headers.
        zh: bool,
    },
    /// An Excel workbook.
    Xlsx {
        /// Chinese headers.
        zh: bool,
    },
}

impl Format {
    /// Parses `format` and `lang` (422 naming the parameter).
    pub fn parse(format: Option<&str>, lang: Option<&str>) -> AppResult<Format> {
        let zh = match lang {
            None | Some("en") => false,
            Some("zh") | Some("zh-CN") => true,
            Some(_) => return Err(AppError::field("lang", "must be en or zh")),
        };
        match format {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv { zh }),
            Some("xlsx") => Ok(Format::Xlsx { zh }),
            Some(_) => Err(AppError::field("format", "must be json, csv or xlsx")),
        }
    }
}

/// A column: its key (dots nest in JSON) and its headers.
#[derive(Debug, Clone)]
pub struct Column {
    /// JSON key; `a.b` nests `b` under `a`.
    pub key: String,
    /// English header (the key).
    pub en: String,
    /// Chinese header.
    pub zh: String,
}

impl Column {
    /// A column with both headers.
    pub fn new(key: impl Into<String>, zh: impl Into<String>) -> Self {
        let key = key.into();
        Column {
            en: key.clone(),
            key,
            zh: zh.into(),
        }
    }
}

/// A report: the unit's totals and a row per child unit, plus extra JSON sections.
pub struct Table {
    /// Report name (file name of exports).
    pub name: &'static str,
    /// The unit.
    pub unit: UnitRef,
    /// Period start.
    pub from: NaiveDate,
    /// Period end.
    pub to: NaiveDate,
    /// The columns of totals and child rows.
    pub columns: Vec<Column>,
    /// The unit's values, one per column.
    pub totals: Vec<Value>,
    /// Each child unit's values.
    pub children: Vec<(UnitRef, Vec<Value>)>,
    /// Extra top-level JSON sections (lists), not exported to CSV/XLSX.
    pub extras: Vec<(&'static str, Value)>,
}

fn nest(columns: &[Column], values: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for (c, v) in columns.iter().zip(values) {
        match c.key.split_once('.') {
            Some((group, key)) => {
                let entry = out
                    .entry(group.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(key.to_string(), v.clone());
                }
            }
            None => {
                out.insert(c.key.clone(), v.clone());
            }
        }
    }
    out
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Table {
    /// The JSON document: {org_unit, from, to, totals, children, ...extras}.
    pub fn json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "org_unit".into(),
            serde_json::to_value(&self.unit).unwrap_or(Value::Null),
        );
        doc.insert("from".into(), Value::String(self.from.to_string()));
        doc.insert("to".into(), Value::String(self.to.to_string()));
        doc.insert(
            "totals".into(),
            Value::Object(nest(&self.columns, &self.totals)),
        );
        let children: Vec<Value> = self
            .children
            .iter()
            .map(|(u, vals)| {
                let mut m = nest(&self.columns, vals);
                m.insert(
                    "org_unit".into(),
                    serde_json::to_value(u).unwrap_or(Value::Null),
                );
                Value::Object(m)
            })
            .collect();
        doc.insert("children".into(), Value::Array(children));
        for (k, v) in &self.extras {
            doc.insert((*k).to_string(), v.clone());
        }
        Value::Object(doc)
    }

    fn header(&self, zh: bool) -> Vec<String> {
        let mut h: Vec<String> = if zh {
            vec![
                "单位ID".into(),
                "单位类型".into(),
                "单位名称".into(),
                "开始日期".into(),
                "结束日期".into(),
            ]
        } else {
            vec![
                "org_unit_id".into(),
                "org_unit_kind".into(),
                "org_unit_name".into(),
                "from".into(),
                "to".into(),
            ]
        };
        h.extend(
            self.columns
                .iter()
                .map(|c| if zh { c.zh.clone() } else { c.en.clone() }),
        );
        h
    }

    fn rows(&self) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        let lead = |u: &UnitRef| {
            vec![
                Value::String(u.id.to_string()),
                Value::String(u.kind.clone()),
                Value::String(u.name.clone()),
                Value::String(self.from.to_string()),
                Value::String(self.to.to_string()),
            ]
        };
        let mut first = lead(&self.unit);
        first.extend(self.totals.iter().cloned());
        rows.push(first);
        for (u, vals) in &self.children {
            let mut r = lead(u);
            r.extend(vals.iter().cloned());
            rows.push(r);
        }
        rows
    }

    /// CSV, UTF-8 with a BOM.
    pub fn csv(&self, zh: bool) -> AppResult<Vec<u8>> {
        let mut out = vec![0xEF, 0xBB, 0xBF];
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(self.header(zh))
                .map_err(AppError::internal)?;
            for r in self.rows() {
                w.write_record(r.iter().map(cell_text))
                    .map_err(AppError::internal)?;
            }
            w.flush().map_err(AppError::internal)?;
        }
        Ok(out)
    }

    /// An XLSX workbook with one sheet.
    pub fn xlsx(&self, zh: bool) -> AppResult<Vec<u8>> {
        use rust_xlsxwriter::{Format as XFormat, Workbook};
        let mut book = Workbook::new();
        let bold = XFormat::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name(self.name).map_err(AppError::internal)?;
        for (c, h) in self.header(zh).iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, h, &bold)
                .map_err(AppError::internal)?;
            sheet
                .set_column_width(c as u16, if c == 0 { 38 } else { 14 })
                .map_err(AppError::internal)?;
        }
        for (r, row) in self.rows().iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = ((r + 1) as u32, c as u16);
                match v {
                    Value::Number(n) => {
                        sheet
                            .write_number(r, c, n.as_f64().unwrap_or(0.0))
                            .map_err(AppError::internal)?;
                    }
                    Value::Null => {}
                    other => {
                        sheet
                            .write_string(r, c, cell_text(other))
                            .map_err(AppError::internal)?;
                    }
                }
            }
        }
        book.save_to_buffer().map_err(AppError::internal)
    }

    /// Answers in the requested format.
    pub fn respond(&self, format: Format) -> AppResult<HttpResponse> {
        let file = format!("{}-{}-{}", self.name, self.from, self.to);
        match format {
            Format::Json => Ok(HttpResponse::Ok().json(self.json())),
            Format::Csv { zh } => Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.csv\""),
                ))
                .body(self.csv(zh)?)),
            Format::Xlsx { zh } => Ok(HttpResponse::Ok()
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}.xlsx\""),
                ))
                .body(self.xlsx(zh)?)),
        }
    }
}
