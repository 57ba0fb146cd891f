//! Times `schema::scrub` against `schema::load` on one synthetic lifetime export, in memory:
//! `cargo run --release -p schema --example scrub_speed [plays] [generation]`.

use std::io::Cursor;
use std::time::{Duration, Instant};

use schema::Limits;

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let plays: usize = args.next().map_or(300_000, |a| a.parse().expect("plays"));
    let generation: synth::Generation = args.next().map_or(synth::Generation::G3, |a| {
        a.parse().expect("generation: g1, g3, g4 or g5")
    });
    let export = synth::generate(&synth::Options {
        plays,
        generation,
        ..synth::Options::default()
    });
    let zip = synth::zip_to(&export, Cursor::new(Vec::new()))
        .expect("zip")
        .into_inner();
    let json: u64 = export.facts.bytes;
    let name = "my_spotify_data.zip".to_string();
    let limits = Limits::default();
    let open = || Ok(Cursor::new(&zip[..]));

    let load = best(3, || {
        let lib = schema::load(std::slice::from_ref(&name), |_| open(), &limits);
        assert!(lib.records() >= plays);
    });
    let mut report = None;
    let mut out_len = 0;
    let scrub = best(3, || {
        let mut out = Vec::with_capacity(zip.len());
        report = Some(schema::scrub(&name, open, &mut out, &limits).expect("scrub"));
        out_len = out.len();
    });
    let report = report.expect("ran");
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{plays} plays, {generation}: zip {:.1} MB, JSON {:.1} MB in {} files, {} threads",
        mb(zip.len() as u64),
        mb(json),
        export.files.len(),
        rayon_threads(),
    );
    println!(
        "load:  {:.3} s  {:.0} MB/s of JSON",
        load.as_secs_f64(),
        mb(json) / load.as_secs_f64()
    );
    println!(
        "scrub: {:.3} s  {:.0} MB/s of JSON, {:.1}x load; kept {} files, {} records, JSON {:.1} -> {:.1} MB, zip {:.1} MB",
        scrub.as_secs_f64(),
        mb(json) / scrub.as_secs_f64(),
        scrub.as_secs_f64() / load.as_secs_f64(),
        report.files.len(),
        report.records,
        mb(report.bytes_in),
        mb(report.bytes_out),
        mb(out_len as u64),
    );
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
