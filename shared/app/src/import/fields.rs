//! The columns of a DMS export and how each value is written there: `dd.mm.yyyy` dates, decimal
//! commas with thousands spaces, phones as typed, Russian kinds, Cyrillic numbers and names.

use std::fmt;

use chrono::NaiveDate;
use domain::values::Urgency;
use domain::{LineKind, VisitKind};

/// A column of the export, in the order of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    WorkOrder,
    ClosedOn,
    Customer,
    Phone,
    Vin,
    Make,
    Model,
    FirstRegistration,
    Odometer,
    RepairKind,
    LineKind,
    Code,
    Name,
    Quantity,
    Price,
    Cost,
    Advisor,
    /// Optional, after the others: the licence plate (many DMS exports add it).
    Plate,
    /// Optional, after «Госномер»: how urgent recommended work is («Безопасность», «Скоро»,
    /// «Позже»), on the rows of work the advisor recommended and the customer declined.
    Urgency,
}

impl Column {
    /// Every column a header must have, in header order.
    pub const ALL: [Column; 17] = [
        Column::WorkOrder,
        Column::ClosedOn,
        Column::Customer,
        Column::Phone,
        Column::Vin,
        Column::Make,
        Column::Model,
        Column::FirstRegistration,
        Column::Odometer,
        Column::RepairKind,
        Column::LineKind,
        Column::Code,
        Column::Name,
        Column::Quantity,
        Column::Price,
        Column::Cost,
        Column::Advisor,
    ];

    /// Columns a header may add after [`Column::ALL`], in this order.
    pub const OPTIONAL: [Column; 2] = [Column::Plate, Column::Urgency];

    /// The column's title in the header.
    pub fn title(self) -> &'static str {
        match self {
            Column::WorkOrder => "Заказ-наряд",
            Column::ClosedOn => "Дата закрытия",
            Column::Customer => "Клиент",
            Column::Phone => "Телефон",
            Column::Vin => "VIN",
            Column::Make => "Марка",
            Column::Model => "Модель",
            Column::FirstRegistration => "Дата первой регистрации",
            Column::Odometer => "Пробег",
            Column::RepairKind => "Вид ремонта",
            Column::LineKind => "Вид строки",
            Column::Code => "Код",
            Column::Name => "Наименование",
            Column::Quantity => "Количество",
            Column::Price => "Цена",
            Column::Cost => "Себестоимость",
            Column::Advisor => "Мастер-консультант",
            Column::Plate => "Госномер",
            Column::Urgency => "Срочность",
        }
    }

    /// Whether the value holds personal data, which error messages do not repeat.
    pub fn is_personal(self) -> bool {
        matches!(self, Column::Customer | Column::Phone | Column::Plate)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "«{}»", self.title())
    }
}

/// The header line, exactly as the DMS writes it (without the optional columns).
pub fn header() -> String {
    Column::ALL.map(Column::title).join(";")
}

/// The header line with the optional columns.
pub fn full_header() -> String {
    Column::ALL
        .iter()
        .chain(&Column::OPTIONAL)
        .map(|c| c.title())
        .collect::<Vec<_>>()
        .join(";")
}

/// A value shortened for an error message.
pub(crate) fn quoted(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    format!("{short:?}")
}

/// Spaces a DMS puts between thousands: the plain, the non-breaking and the thin ones.
fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Parses `dd.mm.yyyy` (day and month may have one digit).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let bad = || format!("{} is not a date (dd.mm.yyyy)", quoted(text));
    let mut parts = text.split('.');
    let (Some(d), Some(m), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(d, &[1, 2]) || !digits(m, &[1, 2]) || !digits(y, &[4]) {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    NaiveDate::from_ymd_opt(n(y) as i32, n(m), n(d)).ok_or_else(bad)
}

/// A decimal as the DMS writes it (`3 150,50`, `1,5`, `1200.00`) in the plain form the visit
/// contract takes (`3150.50`); a sign is kept for the contract to refuse.
pub fn parse_decimal(text: &str) -> Result<String, String> {
    let bad = || format!("{} is not a number", quoted(text));
    let mut plain = String::with_capacity(text.len());
    let (mut comma, mut point) = (false, false);
    for c in text.chars().filter(|&c| !is_group_space(c)) {
        comma |= c == ',';
        point |= c == '.';
        plain.push(if c == ',' { '.' } else { c });
    }
    if comma && point {
        return Err(bad());
    }
    let unsigned = plain.strip_prefix('-').unwrap_or(&plain);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !fraction.is_none_or(digits) || plain.len() > 32 {
        return Err(bad());
    }
    Ok(plain)
}

/// A whole number of kilometres (`45 000`, `45000,00`).
pub fn parse_km(text: &str) -> Result<i64, String> {
    let plain = parse_decimal(text)?;
    let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
    if fraction.bytes().any(|b| b != b'0') {
        return Err(format!(
            "{} is not a whole number of kilometres",
            quoted(text)
        ));
    }
    whole
        .parse::<i64>()
        .map_err(|_| format!("{} is not a number", quoted(text)))
}

/// Why a phone could not be read. The message never repeats the number.
pub const PHONE_PROBLEM: &str = "not a phone number: expected a Russian number of 11 digits \
     starting with 8 or 7 (or 10 starting with 9), or + and the country code";

/// A phone as the DMS writes it (`+7 (916) 758-64-88`, `8 916 758 64 88`, `89167586488`) in
/// E.164 (`+79167586488`): `8` or `7` and ten digits, or ten digits starting with `9`, are
/// Russian numbers; a number written with `+` keeps its country code.
pub fn normalise_phone(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let separators_only = rest
        .chars()
        .all(|c| c.is_ascii_digit() || is_group_space(c) || matches!(c, '(' | ')' | '-' | '.'));
    if !separators_only {
        return Err(PHONE_PROBLEM.to_owned());
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    match (plus, digits.len(), digits.as_bytes().first()) {
        (true, 8..=15, _) => Ok(format!("+{digits}")),
        (false, 11, Some(b'8' | b'7')) => Ok(format!("+7{}", &digits[1..])),
        (false, 10, Some(b'9')) => Ok(format!("+7{digits}")),
        _ => Err(PHONE_PROBLEM.to_owned()),
    }
}

/// The visit kind of a DMS repair kind (`Вид ремонта`); `ТО` is scheduled maintenance.
pub fn parse_repair_kind(text: &str) -> Result<VisitKind, String> {
    let kinds = [
        ("то", VisitKind::Maintenance),
        ("ремонт", VisitKind::Repair),
        ("гарантия", VisitKind::Warranty),
        ("кузовной ремонт", VisitKind::Bodywork),
        ("шиномонтаж", VisitKind::Tires),
        ("диагностика", VisitKind::Diagnostics),
    ];
    let as_written = [
        ("ТО", VisitKind::Maintenance),
        ("Ремонт", VisitKind::Repair),
        ("Шиномонтаж", VisitKind::Tires),
        ("Диагностика", VisitKind::Diagnostics),
    ];
    if let Some(&(_, kind)) = as_written.iter().find(|(name, _)| *name == text) {
        return Ok(kind);
    }
    let wanted = squeeze(text).to_lowercase();
    kinds
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|&(_, kind)| kind)
        .ok_or_else(|| {
            format!(
                "{} is not a repair kind: ТО, Ремонт, Гарантия, Кузовной ремонт, Шиномонтаж or \
                 Диагностика",
                quoted(text)
            )
        })
}

/// What a row of the export is (`Вид строки`): a line of the work order, or work the advisor
/// recommended and the customer declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// `Работа` or `Запчасть`: done and paid.
    Line(LineKind),
    /// `Рекомендованная работа` or `Рекомендованная запчасть`: declined, with its estimate.
    Recommended(LineKind),
}

/// The row kind of a DMS row (`Вид строки`): `Работа`, `Запчасть`, `Рекомендованная работа` or
/// `Рекомендованная запчасть` (case and spacing as typed).
pub fn parse_row_kind(text: &str) -> Result<RowKind, String> {
    match text {
        "Работа" => return Ok(RowKind::Line(LineKind::Labor)),
        "Запчасть" => return Ok(RowKind::Line(LineKind::Part)),
        _ => {}
    }
    match squeeze(text).to_lowercase().as_str() {
        "работа" => Ok(RowKind::Line(LineKind::Labor)),
        "запчасть" => Ok(RowKind::Line(LineKind::Part)),
        "рекомендованная работа" => Ok(RowKind::Recommended(LineKind::Labor)),
        "рекомендованная запчасть" => {
            Ok(RowKind::Recommended(LineKind::Part))
        }
        _ => Err(format!(
            "{} is not a line kind: Работа, Запчасть, Рекомендованная работа or Рекомендованная \
             запчасть",
            quoted(text)
        )),
    }
}

/// The urgency of recommended work (`Срочность`): `Безопасность` (driving on is a risk),
/// `Скоро` (within months) or `Позже` (at a later visit); the contract's `safety`, `soon` and
/// `later` are read too.
pub fn parse_urgency(text: &str) -> Result<Urgency, String> {
    let wanted = squeeze(text).to_lowercase();
    let urgency = match wanted.as_str() {
        "безопасность" | "safety" => Urgency::Safety,
        "скоро" | "soon" => Urgency::Soon,
        "позже" | "later" => Urgency::Later,
        _ => {
            return Err(format!(
                "{} is not an urgency: Безопасность, Скоро or Позже",
                quoted(text)
            ))
        }
    };
    Ok(urgency)
}

/// Words separated by one space.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

const LEGAL_FORMS: [&str; 12] = [
    "ООО", "ОАО", "ЗАО", "АО", "ПАО", "НАО", "ГУП", "МУП", "ФГУП", "НКО", "АНО", "ИП",
];

/// How to address the customer named in `Клиент`: the given name of «Фамилия Имя [Отчество]»
/// (an «ИП» before it dropped), a single word as it is, an organisation's whole name.
pub fn first_name_of(client: &str) -> String {
    let words: Vec<&str> = client.split_whitespace().collect();
    let form =
        |w: &&str| LEGAL_FORMS.contains(&w.trim_matches(['"', '«', '»']).to_uppercase().as_str());
    let person: &[&str] = match words.split_first() {
        Some((first, rest)) if form(first) && first.to_uppercase() == "ИП" => rest,
        Some((first, _)) if form(first) => return squeeze(client),
        _ if client.contains(['"', '«']) => return squeeze(client),
        _ => &words,
    };
    match person {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [_, given, ..] => (*given).to_owned(),
    }
}

/// Latin letters for a Cyrillic one, lower case; `None` for any other character.
fn transliterate(c: char) -> Option<&'static str> {
    const TABLE: [&str; 32] = [
        "a", "b", "v", "g", "d", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
        "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
    ];
    let lower = c.to_lowercase().next()?;
    match lower {
        'а'..='я' => TABLE.get(lower as usize - 'а' as usize).copied(),
        'ё' => Some("e"),
        _ => None,
    }
}

/// The Latin letter a Cyrillic letter looks like (`А` and `A`), if one does.
fn look_alike(c: char) -> Option<char> {
    const PAIRS: [(char, char); 19] = [
        ('А', 'A'),
        ('В', 'B'),
        ('Е', 'E'),
        ('К', 'K'),
        ('М', 'M'),
        ('Н', 'H'),
        ('О', 'O'),
        ('Р', 'P'),
        ('С', 'C'),
        ('Т', 'T'),
        ('У', 'Y'),
        ('Х', 'X'),
        ('а', 'a'),
        ('е', 'e'),
        ('о', 'o'),
        ('р', 'p'),
        ('с', 'c'),
        ('у', 'y'),
        ('х', 'x'),
    ];
    PAIRS.iter().find(|(cyr, _)| *cyr == c).map(|&(_, lat)| lat)
}

/// A work-order number in the id alphabet of the visit contract: a Cyrillic letter becomes the
/// Latin letter it looks like (`А3С0001116` is `A3C0001116`), or else its transliteration in
/// capitals (`ЗН-12` is `ZH-12`); anything else is kept for the contract to judge.
pub fn work_order_code(number: &str) -> String {
    let mut code = String::with_capacity(number.len());
    for c in number.trim().chars() {
        match (look_alike(c), transliterate(c)) {
            (Some(lat), _) => code.push(lat),
            (None, Some(latin)) => code.push_str(&latin.to_uppercase()),
            (None, None) => code.push(c),
        }
    }
    code
}

/// An advisor id from the advisor's name (`Петров А.В.` is `Petrov-A.V.`): transliterated,
/// spaces as `-`, other characters outside the id alphabet dropped, at most 64 characters.
/// `None` when nothing is left.
pub fn advisor_id_of(name: &str) -> Option<String> {
    let mut id = String::new();
    for word in name.split_whitespace() {
        if !id.is_empty() {
            id.push('-');
        }
        for c in word.chars() {
            match transliterate(c) {
                Some(latin) if c.is_uppercase() => {
                    let mut letters = latin.chars();
                    if let Some(first) = letters.next() {
                        id.extend(first.to_uppercase());
                        id.extend(letters);
                    }
                }
                Some(latin) => id.push_str(latin),
                None if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-') => {
                    id.push(c)
                }
                None => {}
            }
        }
    }
    let id: String = id.trim_matches('-').chars().take(64).collect();
    (!id.is_empty()).then_some(id)
}
