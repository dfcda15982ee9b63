"""A test-sized archive run (the 2,000-film run is `tools/benchmark.py --only soak`, numbers in README)."""
from spinekey.benchmarks.soak import make_films, rss_at_progress, run_soak
from tests.conftest import DEMO_CONFIG

FILMS = 24


def test_soak_every_film_is_processed_or_listed_and_memory_is_sampled(synthetic_dir, untrained_checkpoint,
                                                                      tmp_path):
    films = tmp_path / 'films'
    names = make_films(f'{synthetic_dir}/images', str(films), FILMS)
    assert len(names) == FILMS and len(list(films.iterdir())) == FILMS + 3
    row = run_soak(str(films), FILMS, str(tmp_path / 'out'), DEMO_CONFIG, untrained_checkpoint,
                   extra=['--score_thr', '0.5'])
    assert row['overlays'] == FILMS and row['measure_overlays'] == FILMS  # the bad files did not stop it
    assert row['skipped_listed'] == 3
    skipped = (tmp_path / 'out' / 'skipped.txt').read_text()
    assert 'broken.png' in skipped and 'notes.png' in skipped and 'giant.png' in skipped
    for phase in ('infer', 'measure'):
        assert row[f'{phase}_rss_mb_at_10pct'] and row[f'{phase}_rss_mb_at_100pct']
        # a leak guard, not a target: 24 films must not grow a process by half (the target is in README)
        assert row[f'{phase}_rss_growth_10_to_100pct'] < 1.5


def test_rss_at_progress_takes_the_peak_up_to_each_fraction():
    samples = [(0, 100.0), (5, 120.0), (10, 110.0), (40, 130.0), (60, 150.0), (100, 140.0)]
    row = rss_at_progress(samples, 100, 'infer')
    assert row == {'infer_rss_mb_at_10pct': 120.0, 'infer_rss_mb_at_50pct': 130.0, 'infer_rss_mb_at_100pct': 150.0,
                   'infer_rss_growth_10_to_100pct': 1.25}
