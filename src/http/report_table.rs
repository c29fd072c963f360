//! A report's table rendered: JSON, CSV (UTF-8 with BOM, so Excel opens it right) or XLSX, with
//! English or Chinese headers. The figures come from [`service::reports`](crate::service::reports);
//! how they look on the wire is presentation, so it stays in http, shared by the JSON API
//! (`?format=`) and the console's downloads.

use actix_web::{http::header, HttpResponse};
use serde_json::{Map, Value};

use crate::http::error::{AppError, AppResult};
use crate::service::reports::{Column, Format, Report, Table, UnitRef};

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

/// The JSON document: {org_unit, from, to, totals, children, ...extras}.
pub fn json(t: &Table) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "org_unit".into(),
        serde_json::to_value(&t.unit).unwrap_or(Value::Null),
    );
    doc.insert("from".into(), Value::String(t.from.to_string()));
    doc.insert("to".into(), Value::String(t.to.to_string()));
    doc.insert("totals".into(), Value::Object(nest(&t.columns, &t.totals)));
    let children: Vec<Value> = t
        .children
        .iter()
        .map(|(u, vals)| {
            let mut m = nest(&t.columns, vals);
            m.insert(
                "org_unit".into(),
                serde_json::to_value(u).unwrap_or(Value::Null),
            );
            Value::Object(m)
        })
        .collect();
    doc.insert("children".into(), Value::Array(children));
    for (k, v) in &t.extras {
        doc.insert((*k).to_string(), v.clone());
    }
    Value::Object(doc)
}

fn headers(t: &Table, zh: bool) -> Vec<String> {
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
        t.columns
            .iter()
            .map(|c| if zh { c.zh.clone() } else { c.en.clone() }),
    );
    h
}

fn rows(t: &Table) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let lead = |u: &UnitRef| {
        vec![
            Value::String(u.id.to_string()),
            Value::String(u.kind.clone()),
            Value::String(u.name.clone()),
            Value::String(t.from.to_string()),
            Value::String(t.to.to_string()),
        ]
    };
    let mut first = lead(&t.unit);
    first.extend(t.totals.iter().cloned());
    rows.push(first);
    for (u, vals) in &t.children {
        let mut r = lead(u);
        r.extend(vals.iter().cloned());
        rows.push(r);
    }
    rows
}

/// CSV, UTF-8 with a BOM.
pub fn csv_bytes(t: &Table, zh: bool) -> AppResult<Vec<u8>> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(headers(t, zh)).map_err(AppError::internal)?;
        for r in rows(t) {
            w.write_record(r.iter().map(cell_text))
                .map_err(AppError::internal)?;
        }
        w.flush().map_err(AppError::internal)?;
    }
    Ok(out)
}

/// An XLSX workbook with one sheet.
pub fn xlsx_bytes(t: &Table, zh: bool) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut book = Workbook::new();
    let bold = XFormat::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(t.name).map_err(AppError::internal)?;
    for (c, h) in headers(t, zh).iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(AppError::internal)?;
        sheet
            .set_column_width(c as u16, if c == 0 { 38 } else { 14 })
            .map_err(AppError::internal)?;
    }
    for (r, row) in rows(t).iter().enumerate() {
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

/// Answers a report in the format it was asked for.
pub fn respond(report: &Report) -> AppResult<HttpResponse> {
    let t = &report.table;
    let file = format!("{}-{}-{}", t.name, t.from, t.to);
    match report.format {
        Format::Json => Ok(HttpResponse::Ok().json(json(t))),
        Format::Csv { zh } => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.csv\""),
            ))
            .body(csv_bytes(t, zh)?)),
        Format::Xlsx { zh } => Ok(HttpResponse::Ok()
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.xlsx\""),
            ))
            .body(xlsx_bytes(t, zh)?)),
    }
}
