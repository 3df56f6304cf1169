//! Declined work in a DMS export: rows of `Рекомендованная работа` with their urgency in
//! «Срочность» and the `Рекомендованная запчасть` rows after them become the visit's
//! `recommendations` (reached by `autodrive import`; the follow-up it starts is driven in
//! trigger-evaluator's `declined_work` tests).

use domain::values::Urgency;
use domain::Money;

use super::tests::errors_of;
use super::*;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// A row of work order `order` with the line columns given (kind to urgency, without the
/// advisor: `kind;code;name;qty;price;cost`, then the plate and the urgency).
fn row(order: &str, line: &str, urgency: &str) -> String {
    format!(
        "{order};12.11.2026;Иванов Михаил Петрович;+7 (916) 758-64-88;XW7BE40K70S025476;Toyota;\
         Camry;20.05.2019;90 000;ТО;{line};Петров А.В.;;{urgency}"
    )
}

fn file(rows: &[String]) -> String {
    super::tests::file_under(full_header(), rows)
}

#[test]
fn recommended_rows_become_the_visit_s_declined_work_with_their_estimates() {
    let text = file(&[
        row("A1", "Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00", ""),
        row(
            "A1",
            "Рекомендованная работа;BRK-F;Замена передних колодок;1,5;1 600,00;",
            "Безопасность",
        ),
        row(
            "A1",
            "Рекомендованная запчасть;04465;Колодки;1;5 600,00;4 100,00",
            "",
        ),
        row("A1", "Запчасть;04152;Фильтр масляный;1;1 200,00;950,00", ""),
        row(
            "A1",
            "рекомендованная  работа;SUS-020;Амортизаторы задние;1;4 800,00;",
            "скоро",
        ),
        row(
            "A1",
            "Рекомендованная запчасть;48530;Амортизатор;2;7 100,00;",
            "Скоро",
        ),
        row("A1", "Рекомендованная запчасть;48531;Опора;2;900,00;", ""),
        row(
            "A1",
            "Рекомендованная работа;ALN-1;Развал-схождение;1;3 000,00;",
            "later",
        ),
    ]);
    let export = parse_export(text.into_bytes(), TZ).unwrap();
    assert_eq!((export.work_orders(), export.lines), (1, 8));
    let visit = &export.visits()[0];
    assert_eq!(visit.lines().len(), 2, "declined rows are not work done");
    let declined: Vec<_> = visit
        .recommendations()
        .iter()
        .map(|r| {
            (
                r.code.as_str(),
                r.urgency,
                r.labor_estimate.to_string(),
                r.parts_estimate.to_string(),
            )
        })
        .collect();
    assert_eq!(
        declined,
        [
            ("BRK-F", Urgency::Safety, "2400.00".into(), "5600.00".into()),
            (
                "SUS-020",
                Urgency::Soon,
                "4800.00".into(),
                "16000.00".into()
            ),
            ("ALN-1", Urgency::Later, "3000.00".into(), "0.00".into()),
        ]
    );
    assert_eq!(visit.recommendations()[0].name, "Замена передних колодок");
    assert_eq!(
        visit.recommendations()[1].estimate(),
        Money::from_roubles(20_800)
    );
    // Built from the values and through the contract, the same visit.
    let id = export.sorted[0];
    assert_eq!(export.valid_visit(id).unwrap(), export.visit(id).unwrap());
}

#[test]
fn urgency_and_the_order_of_declined_rows_are_checked_by_line_and_column() {
    let text = file(&[
        row("A1", "Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00", "Скоро"),
        row("A1", "Рекомендованная работа;BRK-F;Колодки;1;2 400,00;", ""),
        row(
            "A1",
            "Рекомендованная работа;BRK-R;Колодки задние;1;2 400,00;",
            "Срочно",
        ),
        row(
            "A2",
            "Рекомендованная запчасть;04465;Колодки;1;5 600,00;",
            "",
        ),
        row("A2", "Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00", ""),
        row("A3", "Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00", ""),
        row(
            "A3",
            "Рекомендованная работа;;Колодки;1;-2 400,00;",
            "Безопасность",
        ),
        row("A3", "Рекомендованный товар;X;Y;1;1,00;1,00", ""),
    ]);
    let errors = errors_of(&text);
    let expected = [
        "line 2, column «Срочность»: only recommended work",
        "line 3, column «Срочность»: recommended work needs an urgency",
        "line 4, column «Срочность»: \"Срочно\" is not an urgency",
        "line 5, column «Вид строки»: a recommended part belongs to the recommended work",
        "line 8, column «Код»:",
        "line 8, column «Цена»:",
        "line 9, column «Вид строки»: \"Рекомендованный товар\" is not a line kind",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, start) in errors.iter().zip(expected) {
        assert!(
            error.starts_with(start),
            "{error:?} should start with {start:?}"
        );
    }
}

#[test]
fn an_export_without_the_urgency_column_names_it_when_it_has_declined_work() {
    // 18 columns (with «Госномер», without «Срочность»): work done reads as before, recommended
    // work cannot say how urgent it is.
    let head = header() + ";Госномер";
    let done = "A1;12.11.2026;Иванов Михаил;89167586488;XW7BE40K70S025476;Toyota;Camry;\
                20.05.2019;90 000;ТО;Работа;TO-60;ТО;1;6 500,00;2 600,00;Петров А.В.;";
    let declined = done.replace(
        "Работа;TO-60;ТО;1;6 500,00;2 600,00",
        "Рекомендованная работа;BRK-F;Колодки;1;2 400,00;",
    );
    assert!(parse_export(format!("{head}\n{done}\n").into_bytes(), TZ).is_ok());
    let errors = errors_of(&format!("{head}\n{done}\n{declined}\n"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 3, column «Срочность»: recommended work needs an urgency")
            && errors[0].contains("after «Госномер»"),
        "{errors:?}"
    );
    // A header naming «Срочность» without «Госномер» before it is refused up front.
    let skipped = header() + ";Срочность";
    let errors = errors_of(&format!("{skipped}\n{done}\n"));
    assert!(
        errors[0].contains("column 18 is \"Срочность\" instead of «Госномер»"),
        "{errors:?}"
    );
}

#[test]
fn more_declined_work_than_the_contract_takes_is_named_at_the_work_order() {
    let mut rows = vec![row("A1", "Работа;TO-60;ТО-60 000;1;6 500,00;2 600,00", "")];
    for i in 0..51 {
        rows.push(row(
            "A1",
            &format!("Рекомендованная работа;R-{i};Работа {i};1;100,00;"),
            "Позже",
        ));
    }
    let errors = errors_of(&file(&rows));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 2: work order \"A1\": a visit has at most 50 recommendations"),
        "{errors:?}"
    );
}
