use schema::{Limits, Parser};
#[test]
fn explore() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nonjson", b"hello world".to_vec()),
        ("pdf", b"%PDF-1.4\n...".to_vec()),
        ("trunc", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5}, {\"ts\":\"2021-".to_vec()),
        ("trunc2", b"[\n  {\n    \"ts\": \"2021-09-21T19:38:59Z\",\n    \"ms_played\": 5\n  },\n  {\n    \"ts\"".to_vec()),
        ("trunc3", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5},".to_vec()),
        ("empty", b"".to_vec()),
        ("ws", b"  \n ".to_vec()),
        ("emptyarr", b"[]".to_vec()),
        ("obj", b"{\"a\":1}".to_vec()),
        ("nul raw", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"master_metadata_track_name\":\"a\x00b\"}]".to_vec()),
        ("nul esc", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"master_metadata_track_name\":\"a\\u0000b\"}]".to_vec()),
        ("lone hi", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"master_metadata_track_name\":\"a\\ud800b\"}]".to_vec()),
        ("lone lo", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"master_metadata_track_name\":\"a\\udc00\"}]".to_vec()),
        ("raw surrogate bytes", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"master_metadata_track_name\":\"a\xed\xa0\x80\"}]".to_vec()),
        ("deep", { let mut v = vec![b'['; 100000]; v.extend(vec![b']'; 100000]); v }),
        ("deep obj", { let mut v = Vec::new(); for _ in 0..100000 { v.extend_from_slice(b"{\"a\":"); } v.push(b'1'); v.extend(vec![b'}'; 100000]); v }),
        ("deep65", { let mut v = vec![b'['; 65]; v.extend(vec![b']'; 65]); v }),
        ("deep in record", b"[{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5,\"x\":[[[[[[[[[[1]]]]]]]]]]}]".to_vec()),
        ("wrongtypes", b"[{\"ts\":5,\"ms_played\":5},{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":true},{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":-4},{\"ts\":\"2021-09-21T19:38:59Z\",\"ms_played\":5, \"shuffle\": 3}, 7]".to_vec()),
        ("nums", b"[1,2]".to_vec()),
        ("str", b"\"x\"".to_vec()),
        ("trailing", b"[]x".to_vec()),
        ("unknownkeys", b"[{\"foo\":1,\"bar\":2}]".to_vec()),
    ];
    let mut p = Parser::default();
    for (n, c) in &cases {
        match p.parse(c) {
            Ok(f) => println!("{n}: OK {:?} rec={} plays={} rej={} problems={:?}", f.format, f.records, f.plays.len(), f.rejected, f.problems),
            Err(e) => println!("{n}: ERR {e}"),
        }
    }
    let names: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    let lib = schema::load(&names, |i| Ok(std::io::Cursor::new(cases[i].1.clone())), &Limits::default());
    for f in &lib.files { println!("{} {:?} {:?}", f.name, f.status, f.message); }
}
