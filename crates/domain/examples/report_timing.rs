//! Times building the report's tables over synthetic facts, exact and protected, table by
//! table: `cargo run --release -p percorsi-domain --example report_timing [interventions]`.
use chrono::NaiveDate;
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::report::grid::Protection;
use percorsi_domain::report::{build, Budget, Fact, GroupBy, Input, Unit, TABLES};
use std::time::Instant;

fn main() {
    let n: i64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let units: Vec<Unit> = (0..100)
        .map(|i| Unit {
            id: i,
            name: format!("Ente {i:03}"),
            kind: if i % 5 == 4 { OrganisationKind::EnteAusiliario } else { OrganisationKind::AuslSerd },
        })
        .collect();
    let facts: Vec<Fact> = (0..n)
        .map(|i| {
            let start = NaiveDate::from_ymd_opt(2015 + (i % 5) as i32, 1 + (i % 12) as u32, 1);
            let mut f = Fact::unpack(i, 1, i % 100, start, (i * 2_654_435_761) & ((1 << 40) - 1))
                .unwrap_or_else(|| Fact::unclassified(i, 1, i % 100, InterventionType::ALL[0]));
            // Numbered in the order of the file, as the import creates them; grouped by
            // organisation below, as the server's extract holds them.
            f.person_id = i * 6 / 7 + 1;
            f.end = start.and_then(|s| s.checked_add_months(chrono::Months::new(3 + (i % 9) as u32)));
            f.key = (i.wrapping_mul(0x9E37) & 0xff) as u8;
            f
        })
        .collect();
    // Grouped by organisation, as the server's extract holds them.
    let mut facts = facts;
    facts.sort_by_key(|f| f.organisation_id);
    let input = Input {
        facts: facts.iter().collect(),
        units: units.clone(),
        planned: Vec::new(),
        budget: Budget::default(),
        by: GroupBy::Kind,
    };
    let p = Some(Protection { secret: 7 });
    // The fastest of several runs: on a shared machine the mean mostly measures the neighbours.
    let fastest = |only: Option<u8>, prot: Option<Protection>| {
        (0..15)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(build(&input, prot, only));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min)
    };
    for (label, prot) in [("exact", None), ("protected", p)] {
        println!("{label}: whole report {:.1} ms (fastest of 15)", fastest(None, prot));
        for only in 1..=TABLES {
            println!("  {label} table {only}: {:.1} ms", fastest(Some(only), prot));
        }
    }
}
