"""tools/analysis_tools/linear_bandwidth.py on tiny layers."""
import pytest

from conftest import load_tool

tool = load_tool('tools/analysis_tools/linear_bandwidth.py')


def test_cycles_weight_sets_and_reports_consistent_rates(capsys):
    # a 16 -> 32 float32 matrix is 2048 bytes: 0.002 MB is one matrix, 0.02 MB ten
    results = tool.main(['--rows', '4', '--in-features', '16', '--out-features', '32',
                         '--total-mb', '0.002', '0.02', '--passes', '1', '--num-threads', '1'])
    out = capsys.readouterr().out
    assert '   1 weight matrices' in out and '  10 weight matrices' in out
    assert [r['mb'] for r in results] == pytest.approx([0.002048, 0.02048])
    for r in results:
        assert r['gmacs'] == pytest.approx(4 * 16 * 32 / (r['ms'] / 1e3) / 1e9)
        assert r['gbps'] == pytest.approx(16 * 32 * 4 / (r['ms'] / 1e3) / 1e9)


def test_measure_runs_sfmm_inference_linear(monkeypatch):
    """The timed layers are the ones init_model runs (optimize_for_inference)."""
    import sfmm.apis
    seen = []
    real = sfmm.apis.optimize_for_inference
    monkeypatch.setattr(sfmm.apis, 'optimize_for_inference',
                        lambda m: seen.append(real(m)) or seen[-1])
    tool.measure(2, 8, 8, 3, 1)
    from sfmm.apis.optimize import InferenceLinear, onednn_linear_available
    assert len(seen) == 1
    if onednn_linear_available():
        assert [type(m) for m in seen[0]] == [InferenceLinear] * 3


@pytest.mark.parametrize('bad', [['--rows', '0'], ['--total-mb', '-1'], ['--passes', '0']])
def test_bad_arguments_are_refused(bad, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(bad)
    assert bad[0] in capsys.readouterr().err
