//! Form controls as the GOV.UK patterns draw them: a label above each control, its error
//! between them (linked by `aria-describedby`, the control marked `aria-invalid`), an error
//! summary linking to each field, and what the person typed kept when a form comes back.

use maud::{html, Markup};

use super::form::Form;
use super::zh;
use crate::error::FieldError;

/// The state of one form on a page: the values it was posted with and the errors they got.
pub struct Fields<'a> {
    /// Prefix of the controls' ids (several forms share a page).
    pub prefix: &'a str,
    /// The posted form, when it came back.
    pub posted: Option<&'a Form>,
    /// Its field errors.
    pub errors: &'a [FieldError],
}

impl<'a> Fields<'a> {
    /// A fresh form.
    pub fn new(prefix: &'a str) -> Self {
        Fields {
            prefix,
            posted: None,
            errors: &[],
        }
    }

    fn id(&self, name: &str) -> String {
        let name = name.replace(['_', '['], "-").replace(']', "");
        format!("{}-{}", self.prefix, name)
    }

    fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| zh::message(&e.message))
    }

    fn typed(&self, name: &str) -> Option<&str> {
        self.posted.and_then(|f| f.get(name))
    }

    fn described(&self, name: &str, hint: Option<&str>) -> Option<String> {
        let mut ids = Vec::new();
        if self.error(name).is_some() {
            ids.push(format!("{}-error", self.id(name)));
        }
        if hint.is_some() {
            ids.push(format!("{}-hint", self.id(name)));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn frame(&self, name: &str, label: &str, hint: Option<&str>, control: Markup) -> Markup {
        let id = self.id(name);
        let error = self.error(name);
        html! {
            div.field.has-error[error.is_some()] {
                label for=(id) { (label) }
                @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
                @if let Some(e) = &error {
                    p.error-message id=(format!("{id}-error")) { span.visually-hidden { "错误：" } (e) }
                }
                (control)
            }
        }
    }

    /// A one-line text input.
    pub fn input(&self, name: &str, label: &str, kind: &str, hint: Option<&str>) -> Markup {
        let value = self.typed(name).unwrap_or("");
        let control = html! {
            input id=(self.id(name)) name=(name) type=(kind) value=(value)
                aria-invalid=[self.error(name).map(|_| "true")]
                aria-describedby=[self.described(name, hint)];
        };
        self.frame(name, label, hint, control)
    }

    /// The ID number's input, checked as it is typed by `console.js` (the length, the digits and
    /// GB 11643's check digit, the rule of `domain::resident_id`; the server checks again): what
    /// it finds is read out from a live region the input names in `aria-describedby`.
    pub fn resident_id(&self, name: &str, label: &str, hint: Option<&str>) -> Markup {
        let value = self.typed(name).unwrap_or("");
        let live = format!("{}-check", self.id(name));
        let described = match self.described(name, hint) {
            Some(d) => format!("{d} {live}"),
            None => live.clone(),
        };
        let control = html! {
            input id=(self.id(name)) name=(name) type="text" value=(value) autocomplete="off"
                spellcheck="false" data-check="resident-id"
                aria-invalid=[self.error(name).map(|_| "true")]
                aria-describedby=(described);
            p.check-message id=(live) aria-live="polite" {}
        };
        self.frame(name, label, hint, control)
    }

    /// A text area.
    pub fn textarea(&self, name: &str, label: &str, hint: Option<&str>) -> Markup {
        let value = self.typed(name).unwrap_or("");
        let control = html! {
            textarea id=(self.id(name)) name=(name) rows="3"
                aria-invalid=[self.error(name).map(|_| "true")]
                aria-describedby=[self.described(name, hint)] { (value) }
        };
        self.frame(name, label, hint, control)
    }

    /// A drop-down list; `blank` is the text of an empty first choice (none: no such choice).
    pub fn select(
        &self,
        name: &str,
        label: &str,
        blank: Option<&str>,
        options: &[(String, String)],
        chosen: Option<&str>,
    ) -> Markup {
        let chosen = self.typed(name).or(chosen);
        let control = html! {
            select id=(self.id(name)) name=(name)
                aria-invalid=[self.error(name).map(|_| "true")]
                aria-describedby=[self.described(name, None)] {
                @if let Some(b) = blank { option value="" { (b) } }
                @for (value, text) in options {
                    option value=(value) selected[chosen == Some(value.as_str())] { (text) }
                }
            }
        };
        self.frame(name, label, None, control)
    }

    /// A checkbox with its label beside it.
    pub fn checkbox(&self, name: &str, label: &str) -> Markup {
        let id = self.id(name);
        html! {
            div.field.checkbox {
                input id=(id) name=(name) type="checkbox" value="true" checked[self.typed(name).is_some()];
                label for=(id) { (label) }
            }
        }
    }

    /// The summary of the form's errors, each linking to its field.
    pub fn summary(&self) -> Markup {
        html! {
            @if !self.errors.is_empty() {
                div.error-summary role="alert" tabindex="-1" aria-labelledby=(format!("{}-summary", self.prefix)) {
                    h2 id=(format!("{}-summary", self.prefix)) { "请修改以下内容" }
                    ul {
                        @for e in self.errors {
                            li { a href=(format!("#{}", self.id(&e.field))) { (zh::label(&e.field)) "：" (zh::message(&e.message)) } }
                        }
                    }
                }
            }
        }
    }
}

/// The session's CSRF token as a form's hidden field.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Options from (word, Chinese) pairs.
pub fn options<T: Copy>(
    all: &[T],
    word: fn(T) -> &'static str,
    zh: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|&v| (word(v).to_string(), zh(v).to_string()))
        .collect()
}
