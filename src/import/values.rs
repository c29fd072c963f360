//! Values as clerks write them in a register: grades in Chinese numerals, kinds in Chinese.

use crate::domain::roles::HelperKind;

/// A disability grade as clerks write it: "2", "2.0", "2级", "二级", "Ⅱ级".
pub fn parse_grade(raw: &str) -> Option<i64> {
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
pub fn parse_kind(raw: &str) -> Option<HelperKind> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn kinds_in_chinese() {
        assert_eq!(parse_kind("家属"), Some(HelperKind::Family));
        assert_eq!(parse_kind("Volunteer"), Some(HelperKind::Volunteer));
        assert_eq!(parse_kind("厨师"), None);
    }
}
