#!/usr/bin/env python3
"""Baselines for `backspin inspect`: the same facts from the same export with polars or pandas.

    baseline.py polars DIR [--check]
    baseline.py pandas DIR [--check]

Reads every history file below DIR (every *.json except expected.json) with the library's own
JSON reader, concatenates them, drops exact duplicate rows (unique / drop_duplicates), then
computes with group-bys the facts inspect reports: total listening time, time per year, top
artists and tracks by time and by plays of at least 30 s, distinct artists and tracks, first
and last stream. Prints those facts as JSON on stdout and the in-process time (after imports)
on stderr. With --check, compares them with DIR/expected.json (written by gen_history.py) and
exits 1 on a difference, so that a baseline is known to do the real work.

Only columns every generation has are used; the 5-row video file repeats podcast episodes
with ms_played 0, so it changes none of these facts.
"""

import argparse
import json
import os
import sys
import time

MIN_PLAY_MS = 30_000
ARTIST = "master_metadata_album_artist_name"
TRACK = "master_metadata_track_name"
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def history_files(root):
    out = []
    for dirpath, _, names in os.walk(root):
        out += [os.path.join(dirpath, n) for n in names if n.endswith(".json") and n != "expected.json"]
    return sorted(out)


# The keys of the newest extended history (G5), typed. polars infers a schema from the first
# rows otherwise, and those often have only nulls where later rows have podcast names.
STRING_KEYS = ["ts", "platform", "conn_country", "ip_addr", TRACK, ARTIST, "master_metadata_album_album_name",
               "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri",
               "audiobook_title", "audiobook_uri", "audiobook_chapter_uri", "audiobook_chapter_title",
               "reason_start", "reason_end"]
INT_KEYS = ["ms_played", "offline_timestamp"]
BOOL_KEYS = ["shuffle", "skipped", "offline", "incognito_mode"]


def with_polars(files):
    import polars as pl

    schema = {k: pl.String for k in STRING_KEYS} | {k: pl.Int64 for k in INT_KEYS} | {k: pl.Boolean for k in BOOL_KEYS}
    frames = [pl.read_json(f, schema=schema) for f in files]
    df = pl.concat(frames, how="diagonal_relaxed").unique(maintain_order=True)
    df = df.with_columns(pl.col("ts").str.to_datetime(TS_FORMAT, time_zone="UTC").alias("end"))
    music = df.filter(pl.col(ARTIST).is_not_null())
    by_year = df.group_by(pl.col("end").dt.year().alias("year")).agg(pl.col("ms_played").sum()).sort("year")
    top_artists = (music.group_by(ARTIST).agg(pl.col("ms_played").sum())
                   .sort(["ms_played", ARTIST], descending=[True, False]).head(10))
    top_plays = (music.filter(pl.col("ms_played") >= MIN_PLAY_MS).group_by(ARTIST).len()
                 .sort(["len", ARTIST], descending=[True, False]).head(10))
    top_tracks = (music.group_by([ARTIST, TRACK]).agg(pl.col("ms_played").sum())
                  .sort(["ms_played", ARTIST, TRACK], descending=[True, False, False]).head(10))
    return {
        "unique_records": df.height,
        "total_ms_played": int(df["ms_played"].sum()),
        "distinct_artists": music[ARTIST].n_unique(),
        "distinct_tracks": df["spotify_track_uri"].drop_nulls().n_unique(),
        "first_ts": df["end"].min().strftime(TS_FORMAT),
        "last_ts": df["end"].max().strftime(TS_FORMAT),
        "ms_played_by_year": {str(y): int(ms) for y, ms in by_year.iter_rows()},
        "top_artists_by_ms": [[a, int(ms)] for a, ms in top_artists.iter_rows()],
        "top_artists_by_plays_30s": [[a, int(n)] for a, n in top_plays.iter_rows()],
        "top_tracks_by_ms": [[a, t, int(ms)] for a, t, ms in top_tracks.iter_rows()],
    }


def with_pandas(files):
    import pandas as pd

    frames = [pd.read_json(f, dtype=False) for f in files]
    df = pd.concat(frames, ignore_index=True).drop_duplicates()
    end = pd.to_datetime(df["ts"], format=TS_FORMAT, utc=True)
    music = df[df[ARTIST].notna()]
    by_year = df["ms_played"].groupby(end.dt.year).sum().sort_index()
    top_artists = (music.groupby(ARTIST)["ms_played"].sum().reset_index()
                   .sort_values(["ms_played", ARTIST], ascending=[False, True]).head(10))
    top_plays = (music[music["ms_played"] >= MIN_PLAY_MS].groupby(ARTIST).size().rename("n").reset_index()
                 .sort_values(["n", ARTIST], ascending=[False, True]).head(10))
    top_tracks = (music.groupby([ARTIST, TRACK])["ms_played"].sum().reset_index()
                  .sort_values(["ms_played", ARTIST, TRACK], ascending=[False, True, True]).head(10))
    return {
        "unique_records": len(df),
        "total_ms_played": int(df["ms_played"].sum()),
        "distinct_artists": int(music[ARTIST].nunique()),
        "distinct_tracks": int(df["spotify_track_uri"].dropna().nunique()),
        "first_ts": end.min().strftime(TS_FORMAT),
        "last_ts": end.max().strftime(TS_FORMAT),
        "ms_played_by_year": {str(y): int(ms) for y, ms in by_year.items()},
        "top_artists_by_ms": [[a, int(ms)] for a, ms in top_artists.itertuples(index=False)],
        "top_artists_by_plays_30s": [[a, int(n)] for a, n in top_plays.itertuples(index=False)],
        "top_tracks_by_ms": [[a, t, int(ms)] for a, t, ms in top_tracks.itertuples(index=False)],
    }


def check(facts, expected):
    """Differences from expected.json. Unique rows include the video file's few rows, and
    ties in the top lists may come in another order, so those compare loosely."""
    bad = []
    for key in ["total_ms_played", "distinct_artists", "distinct_tracks", "first_ts", "last_ts", "ms_played_by_year"]:
        if facts[key] != expected[key]:
            bad.append(f"{key}: {facts[key]!r} != expected {expected[key]!r}")
    if not 0 <= facts["unique_records"] - expected["unique_records"] <= 200:
        bad.append(f"unique_records: {facts['unique_records']} vs expected {expected['unique_records']}")
    for key in ["top_artists_by_ms", "top_artists_by_plays_30s", "top_tracks_by_ms"]:
        # The measure column must match in order; names too, except among equal play counts.
        same_values = [r[-1] for r in facts[key]] == [r[-1] for r in expected[key]]
        same_names = key == "top_artists_by_plays_30s" or sorted(map(tuple, facts[key])) == sorted(map(tuple, expected[key]))
        if not (same_values and same_names):
            bad.append(f"{key}: {facts[key]!r} != expected {expected[key]!r}")
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("library", choices=["polars", "pandas"])
    p.add_argument("dir")
    p.add_argument("--check", action="store_true", help="compare with DIR/expected.json")
    args = p.parse_args()
    files = history_files(args.dir)
    start = time.perf_counter()
    facts = (with_polars if args.library == "polars" else with_pandas)(files)
    elapsed = time.perf_counter() - start
    json.dump(facts, sys.stdout, ensure_ascii=False, indent=1)
    print()
    print(f"{args.library}: {len(files)} files in {elapsed:.3f} s (after imports)", file=sys.stderr)
    if args.check:
        with open(os.path.join(args.dir, "expected.json"), encoding="utf-8") as f:
            bad = check(facts, json.load(f))
        for b in bad:
            print(f"{args.library} baseline differs from expected.json: {b}", file=sys.stderr)
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
