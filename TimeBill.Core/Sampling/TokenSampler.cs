namespace TimeBill.Core.Sampling;

/// <summary>
/// Picks tokens from logits: argmax when greedy, otherwise temperature, then top-k, then top-p (nucleus),
/// then a draw from the renormalised distribution with a seeded random stream.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private float[] _probabilities = [];
    private int[] _order = [];
    private float[] _keys = [];

    /// <summary>Creates a sampler; the options are validated.</summary>
    public TokenSampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = options.Seed is long seed ? new Random(seed is >= int.MinValue and <= int.MaxValue ? (int)seed : (int)(seed ^ (seed >>> 32))) : new Random();
    }

    /// <summary>The next token for <paramref name="logits"/> (one row of vocabulary scores).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("logits are empty.", nameof(logits));
        if (_options.IsGreedy) return ArgMax(logits);

        int n = logits.Length;
        if (_probabilities.Length != n) { _probabilities = new float[n]; _order = new int[n]; _keys = new float[n]; }
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        for (int i = 0; i < n; i++)
        {
            _probabilities[i] = MathF.Exp((logits[i] - max) / _options.Temperature);
            _order[i] = i;
        }

        // Most likely first; keys are negated probabilities so the sort is ascending.
        for (int i = 0; i < n; i++) _keys[i] = -_probabilities[i];
        Array.Sort(_keys, _order);

        int kept = _options.TopK > 0 ? Math.Min(_options.TopK, n) : n;
        double total = 0;
        for (int i = 0; i < kept; i++) total += _probabilities[_order[i]];
        if (_options.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < kept; i++)
            {
                cumulative += _probabilities[_order[i]] / total;
                if (cumulative >= _options.TopP) { kept = i + 1; break; }
            }
            total = 0;
            for (int i = 0; i < kept; i++) total += _probabilities[_order[i]];
        }

        double draw = _random.NextDouble() * total;
        for (int i = 0; i < kept; i++)
        {
            draw -= _probabilities[_order[i]];
            if (draw < 0) return _order[i];
        }
        return _order[kept - 1];
    }

    /// <summary>Index of the largest logit (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
