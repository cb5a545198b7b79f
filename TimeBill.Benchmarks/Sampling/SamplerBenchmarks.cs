using BenchmarkDotNet.Attributes;
using TimeBill.Core.Sampling;

namespace TimeBill.Benchmarks.Sampling;

/// <summary>
/// One sampled token at Qwen3's 151,936-token vocabulary: the sampler's bucketed ranking against a full sort of the
/// vocabulary (kept here as the baseline), for logits drawn from a normal distribution of standard deviation
/// <see cref="Spread"/> (3: a peaked distribution, a nucleus of some hundreds; 1: a flat one, tens of thousands).
/// </summary>
[MemoryDiagnoser]
public class SamplerBenchmarks
{
    private const int Vocabulary = 151_936;
    private float[] _logits = [];
    private TokenSampler _sampler = null!;
    private FullSortSampler _baseline = null!;

    [Params(1f, 3f)]
    public float Spread { get; set; }

    [Params("top-p 0.9", "top-k 40", "min-p 0.05")]
    public string Filter { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _logits = Enumerable.Range(0, Vocabulary).Select(_ => (float)(Spread * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
        var options = Filter switch
        {
            "top-p 0.9" => new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = 1 },
            "top-k 40" => new SamplingOptions { Temperature = 1, TopK = 40, Seed = 1 },
            _ => new SamplingOptions { Temperature = 1, MinP = 0.05f, Seed = 1 },
        };
        _sampler = new TokenSampler(options);
        _baseline = new FullSortSampler(options);
    }

    [Benchmark(Baseline = true)]
    public int FullSort() => _baseline.Sample(_logits);

    [Benchmark]
    public int BucketedRanking() => _sampler.Sample(_logits);

    /// <summary>The sampler as first written: every probability sorted per token (min-p applied as a prefix cut).</summary>
    private sealed class FullSortSampler(SamplingOptions options)
    {
        private readonly Random _random = new((int)(options.Seed ?? 0));
        private readonly float[] _probabilities = new float[Vocabulary], _keys = new float[Vocabulary];
        private readonly int[] _order = new int[Vocabulary];

        public int Sample(ReadOnlySpan<float> logits)
        {
            int n = logits.Length;
            float max = float.NegativeInfinity;
            foreach (float l in logits) max = Math.Max(max, l);
            for (int i = 0; i < n; i++)
            {
                _probabilities[i] = MathF.Exp((logits[i] - max) / options.Temperature);
                _order[i] = i;
                _keys[i] = -_probabilities[i];
            }
            Array.Sort(_keys, _order);
            int kept = options.TopK > 0 ? Math.Min(options.TopK, n) : n;
            double total = 0;
            for (int i = 0; i < kept; i++) total += _probabilities[_order[i]];
            if (options.TopP < 1f)
            {
                double cumulative = 0;
                for (int i = 0; i < kept; i++)
                    if ((cumulative += _probabilities[_order[i]] / total) >= options.TopP) { kept = i + 1; break; }
            }
            while (kept > 1 && _probabilities[_order[kept - 1]] < options.MinP) kept--;
            total = 0;
            for (int i = 0; i < kept; i++) total += _probabilities[_order[i]];
            double draw = _random.NextDouble() * total;
            for (int i = 0; i < kept; i++)
                if ((draw -= _probabilities[_order[i]]) < 0) return _order[i];
            return _order[kept - 1];
        }
    }
}
