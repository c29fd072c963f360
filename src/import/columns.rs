//! The columns of each register: English keys, Chinese headers and the other spellings clerks
//! use, and how a header cell is matched to one.

/// When a column must be in the header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Always.
    Required,
    /// Never.
    Optional,
    /// Required unless the caller is village staff (their own village is the default).
    UnlessVillage,
}

/// One known column: its English key, the Chinese header of the template, other spellings.
pub struct Column {
    /// The English key (also the `field` of its errors).
    pub key: &'static str,
    /// The Chinese header of the template.
    pub zh: &'static str,
    /// Other spellings clerks use.
    pub aliases: &'static [&'static str],
    /// When it must be in the header.
    pub need: Need,
    /// Width in the XLSX template.
    pub width: f64,
    /// Formatted as text in the XLSX template, so Excel keeps every digit.
    pub text: bool,
}

/// The village-code column, the same in every register.
const VILLAGE_CODE: Column = Column {
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
};

/// The phone column, the same in every register.
const PHONE: Column = Column {
    key: "phone",
    zh: "电话",
    aliases: &["联系电话", "手机", "手机号", "手机号码", "电话号码"],
    need: Need::Optional,
    width: 15.0,
    text: true,
};

/// The persons register's name column.
pub const P_NAME: usize = 0;
/// The persons register's resident ID number column.
pub const P_ID: usize = 1;
/// The persons register's disability certificate number column.
pub const P_CERT: usize = 2;
/// The persons register's disability category column.
pub const P_CATEGORY: usize = 3;
/// The persons register's disability grade column.
pub const P_GRADE: usize = 4;
/// The persons register's village code column.
pub const P_VILLAGE: usize = 5;
/// The persons register's phone column.
pub const P_PHONE: usize = 6;
/// The persons register's address column.
pub const P_ADDRESS: usize = 7;
/// The persons register's guardian column.
pub const P_GUARDIAN: usize = 8;
/// The persons register's guardian's phone column.
pub const P_GUARDIAN_PHONE: usize = 9;

/// The columns of a persons register.
pub const PERSON_COLUMNS: &[Column] = &[
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
    VILLAGE_CODE,
    PHONE,
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

/// The helpers register's name column.
pub const H_NAME: usize = 0;
/// The helpers register's phone column.
pub const H_PHONE: usize = 1;
/// The helpers register's kind column.
pub const H_KIND: usize = 2;
/// The helpers register's village code column.
pub const H_VILLAGE: usize = 3;

/// The columns of a helpers register.
pub const HELPER_COLUMNS: &[Column] = &[
    Column {
        key: "name",
        zh: "姓名",
        aliases: &["包保人姓名", "帮扶人姓名"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    PHONE,
    Column {
        key: "kind",
        zh: "类型",
        aliases: &["类别", "身份", "人员类型"],
        need: Need::Required,
        width: 12.0,
        text: false,
    },
    VILLAGE_CODE,
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
pub fn column_of(columns: &[Column], raw: &str) -> Option<usize> {
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

/// Drop-down lists offered in the XLSX template: (column, choices).
pub type Choices = &'static [(usize, &'static [&'static str])];

/// The persons template's drop-downs: categories and grades in Chinese.
pub const PERSON_CHOICES: Choices = &[
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

/// The helpers template's drop-down of kinds.
pub const HELPER_CHOICES: Choices = &[(
    H_KIND,
    &["村干部", "志愿者", "党员", "网格员", "亲属", "其他"],
)];

/// One kind of register: its columns, its template's names and drop-downs.
#[derive(Clone, Copy)]
pub struct Register {
    /// The columns.
    pub columns: &'static [Column],
    /// The template's drop-down lists.
    pub choices: Choices,
    /// The template's file name, without extension.
    pub file: &'static str,
    /// The template's sheet name.
    pub sheet: &'static str,
    /// Which column names the village.
    pub village: usize,
}

/// The persons register (残疾人).
pub const PERSONS: Register = Register {
    columns: PERSON_COLUMNS,
    choices: PERSON_CHOICES,
    file: "persons-template",
    sheet: "残疾人",
    village: P_VILLAGE,
};

/// The helpers register (包保人).
pub const HELPERS: Register = Register {
    columns: HELPER_COLUMNS,
    choices: HELPER_CHOICES,
    file: "helpers-template",
    sheet: "包保人",
    village: H_VILLAGE,
};

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
}
