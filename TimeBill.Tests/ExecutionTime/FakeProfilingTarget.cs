using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

/// <summary>A model whose calls cost a known number of milliseconds on a <see cref="ManualClock"/>.</summary>
internal sealed class FakeProfilingTarget(ManualClock clock, int maxContext = 1024, int layers = 6) : IProfilingTarget
{
    public double A = 2e-5, B = 0.15, C = 1.2, P1 = 3e-4, Q1 = 0.05, H = 0.4;
    /// <summary>
    /// Warm prefills: per new × cached token, per cached token, per new token and fixed (cheaper than a cold prefill's
    /// <see cref="B"/> and <see cref="C"/>); <see cref="CachedPrefill"/> turns them on.
    /// </summary>
    public double E = 5e-5, F = 2e-3, WarmPerToken = 0.12, WarmFixed = 0.5;
    public bool CachedPrefill;
    public readonly HashSet<int> PreparedPrefixes = [];
    /// <summary>A fixed cost per block of <see cref="Block"/> prompt tokens (none while <see cref="Block"/> is 0).</summary>
    public double D;
    public int Block;
    /// <summary>Tokens per forward call (none while 0): each call pays <see cref="C"/> (warm: <see cref="WarmFixed"/>) and its own blocks.</summary>
    public int Chunk;
    public readonly List<(string Kind, int Length, int Layers)> Calls = [];
    public Action? OnCall;

    public string ModelIdentity => "fake-llama-L6";
    public string DataType => "float32";
    public int ThreadCount => 2;
    public int MaxContext => maxContext;
    public int LayerCount => layers;
    public int PrefillQueryBlock => Block;
    public int PrefillChunk => Chunk;

    /// <summary>The fixed and per-block cost of prefilling <paramref name="tokens"/> tokens, call by call as an engine runs them (equal chunks).</summary>
    private double PerCall(int tokens, double fixedCost)
    {
        double total = 0;
        int calls = Chunk > 0 ? Math.Max(1, (tokens + Chunk - 1) / Chunk) : 1;
        for (int i = 0; i < calls; i++)
            total += fixedCost + (Block > 0 ? D * Math.Ceiling((tokens / calls + (i < tokens % calls ? 1 : 0)) / (double)Block) : 0);
        return total;
    }

    public void Prefill(int promptLength)
    {
        Calls.Add(("prefill", promptLength, layers));
        clock.Advance(A * promptLength * promptLength + B * promptLength + PerCall(promptLength, C));
        OnCall?.Invoke();
    }

    public bool SupportsCachedPrefill => CachedPrefill;

    public void PrepareCachedPrefill(int cachedLength)
    {
        PreparedPrefixes.Add(cachedLength);
        clock.Advance(5000); // preparing is slow, and must not show in the warm prefill times
    }

    public void Prefill(int cachedLength, int newLength)
    {
        if (!PreparedPrefixes.Contains(cachedLength)) throw new InvalidOperationException($"the {cachedLength}-token prefix was not prepared");
        Calls.Add(("warm prefill", newLength, cachedLength));
        clock.Advance(A * newLength * newLength + WarmPerToken * newLength + PerCall(newLength, WarmFixed)
            + E * cachedLength * newLength + F * cachedLength);
        OnCall?.Invoke();
    }

    public int PreparedKv = -1;

    /// <summary>Filling a cache is slow, and must not show in the step times.</summary>
    public void PrepareDecodeStep(int kvLength)
    {
        PreparedKv = kvLength;
        clock.Advance(1000 + kvLength);
    }

    public void DecodeStep(int kvLength, int layers)
    {
        if (PreparedKv != kvLength) throw new InvalidOperationException($"step at {kvLength} but the cache was prepared for {PreparedKv}");
        PreparedKv = -1;
        Calls.Add(("step", kvLength, layers));
        clock.Advance(layers * (P1 * kvLength + Q1) + H);
        OnCall?.Invoke();
    }
}
