using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// H2O, Heavy-Hitter Oracle (Zhang et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of
/// Large Language Models"): a few "heavy hitter" tokens receive most of the attention mass. Each entry is scored by
/// the attention it accumulates from all prompt queries (softmax per query, summed over the queries and over the
/// query heads that share the KV head). Recorded during prefill in chunks of queries by an
/// <see cref="AccumulatedAttentionCapture"/>, so memory stays <c>O(Nx·chunk)</c>. Unlike the paper's
/// heavy-hitter + recent split, no recent window is reserved: the score alone decides.
/// </summary>
public sealed class H2OPolicy : ScoringEvictionPolicy
{
    /// <summary>Creates the policy; <paramref name="chunkSize"/> queries are scored at once during prefill.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive chunk size.</exception>
    public H2OPolicy(int chunkSize = 128)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        ChunkSize = chunkSize;
    }

    /// <inheritdoc />
    public override string Name => "h2o";
    /// <summary>Queries scored at once during prefill.</summary>
    public int ChunkSize { get; }

    /// <inheritdoc />
    public override EvictionCapture CreateCapture(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new AccumulatedAttentionCapture(this, config.LayerCount, ChunkSize);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture) =>
        RequireCapture<AccumulatedAttentionCapture>(capture).Statistic(layer, cache).alias();
}
