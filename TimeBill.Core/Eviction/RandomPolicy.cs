using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// Random eviction, the floor every scoring policy must beat (kvpress's RandomPress): uniform scores from a seeded
/// generator, so a run is reproducible; each layer and KV head draws its own.
/// </summary>
public sealed class RandomPolicy(int seed = 0) : ScoringEvictionPolicy
{
    /// <inheritdoc />
    public override string Name => "random";
    /// <summary>The seed; every layer draws its own stream from it.</summary>
    public int Seed { get; } = seed;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture)
    {
        var random = new Random(unchecked(Seed * 1_000_003 + layer));
        var scores = empty([cache.KvHeadCount, cache.Length(layer)], ScalarType.Float32);
        var values = MemoryMarshal.Cast<byte, float>(scores.bytes);
        for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle();
        return scores;
    }
}
