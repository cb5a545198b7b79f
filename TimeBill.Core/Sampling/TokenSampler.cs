namespace TimeBill.Core.Sampling;

/// <summary>
/// Picks tokens from logits: argmax when greedy, otherwise temperature, then top-k, top-p (nucleus) and min-p, then a
/// draw from the renormalised distribution with a seeded random stream. The three filters each keep a prefix of the
/// tokens in descending probability, so only that prefix is ever put in order: the candidates are the top m found by
/// partial selection (a heap of m over one pass), m growing until it holds the nucleus. Without top-k and top-p nothing
/// is sorted at all.
/// </summary>
public sealed class TokenSampler
{
    private const int FirstCandidates = 64;
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private float[] _probabilities = [];
    private int[] _candidates = [];
    private float[] _sortKeys = [];

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
        if (_probabilities.Length != n) { _probabilities = new float[n]; _candidates = new int[n]; _sortKeys = new float[n]; }
        float max = logits[ArgMax(logits)];
        if (float.IsNegativeInfinity(max)) throw new ArgumentException("every logit is −∞: no token can be chosen.", nameof(logits));
        var probabilities = _probabilities.AsSpan();
        float inverseTemperature = 1f / _options.Temperature;
        double total = 0;
        for (int i = 0; i < n; i++) total += probabilities[i] = MathF.Exp((logits[i] - max) * inverseTemperature);
        float floor = _options.MinP; // the most likely token has probability 1 here, so min-p compares with MinP itself

        if (_options.TopK == 0 && _options.TopP >= 1f) return DrawUnordered(probabilities, floor, total);

        int limit = _options.TopK > 0 ? Math.Min(_options.TopK, n) : n;
        int m = Math.Min(limit, _options.TopK > 0 ? limit : FirstCandidates);
        double kept;
        while (true)
        {
            SelectTop(probabilities, m);
            kept = 0;
            for (int i = 0; i < m; i++) kept += probabilities[_candidates[i]];
            // The top m hold the nucleus once their mass reaches p of the mass top-k keeps (all of it without top-k).
            if (m == limit || _options.TopP < 1f && kept >= _options.TopP * total) break;
            m = Math.Min(limit, m * 4);
        }
        double keptTotal = m == limit ? kept : total; // the mass top-p's fraction refers to: what top-k keeps
        int count = m;
        if (_options.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < m; i++)
            {
                cumulative += probabilities[_candidates[i]];
                if (cumulative >= _options.TopP * keptTotal) { count = i + 1; break; }
            }
        }
        while (count > 1 && probabilities[_candidates[count - 1]] < floor) count--;

        double mass = 0;
        for (int i = 0; i < count; i++) mass += probabilities[_candidates[i]];
        double draw = _random.NextDouble() * mass;
        for (int i = 0; i < count; i++)
        {
            draw -= probabilities[_candidates[i]];
            if (draw < 0) return _candidates[i];
        }
        return _candidates[count - 1];
    }

    /// <summary>A draw over every token at or above <paramref name="floor"/>, in vocabulary order (no sorting needed).</summary>
    private int DrawUnordered(ReadOnlySpan<float> probabilities, float floor, double total)
    {
        if (floor > 0)
        {
            total = 0;
            foreach (float p in probabilities) if (p >= floor) total += p;
        }
        double draw = _random.NextDouble() * total;
        int last = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            if (probabilities[i] < floor) continue;
            last = i;
            draw -= probabilities[i];
            if (draw < 0) return i;
        }
        return last;
    }

    /// <summary>
    /// The <paramref name="m"/> most likely tokens into <c>_candidates[0..m)</c>, most likely first: a min-heap of m over
    /// one pass, then the heap sorted (ties: the lower id first), or a full sort when m is a large part of the vocabulary.
    /// </summary>
    private void SelectTop(ReadOnlySpan<float> probabilities, int m)
    {
        if (m > probabilities.Length / 8)
        {
            // Most of the vocabulary is wanted (a flat distribution): one full sort beats a heap that large.
            for (int i = 0; i < probabilities.Length; i++) { _candidates[i] = i; _sortKeys[i] = -probabilities[i]; }
            Array.Sort(_sortKeys, _candidates);
            return;
        }
        var heap = _candidates.AsSpan(0, m);
        for (int i = 0; i < m; i++) heap[i] = i;
        for (int i = m / 2 - 1; i >= 0; i--) SiftDown(heap, i, m, probabilities);
        for (int i = m; i < probabilities.Length; i++)
        {
            if (probabilities[i] <= probabilities[heap[0]]) continue;
            heap[0] = i;
            SiftDown(heap, 0, m, probabilities);
        }
        for (int end = m - 1; end > 0; end--)
        {
            (heap[0], heap[end]) = (heap[end], heap[0]);
            SiftDown(heap, 0, end, probabilities);
        }
    }

    /// <summary>Whether token a ranks below token b: less likely, or as likely with a higher id.</summary>
    private static bool Below(int a, int b, ReadOnlySpan<float> p) => p[a] < p[b] || (p[a] == p[b] && a > b);

    private static void SiftDown(Span<int> heap, int at, int size, ReadOnlySpan<float> p)
    {
        while (true)
        {
            int lowest = at, left = 2 * at + 1, right = left + 1;
            if (left < size && Below(heap[left], heap[lowest], p)) lowest = left;
            if (right < size && Below(heap[right], heap[lowest], p)) lowest = right;
            if (lowest == at) return;
            (heap[at], heap[lowest]) = (heap[lowest], heap[at]);
            at = lowest;
        }
    }

    /// <summary>Index of the largest logit (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
