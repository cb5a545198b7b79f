using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks"): the first tokens act
/// as attention sinks that soak up attention mass whatever their content, and most of the rest goes to recent
/// tokens. Keeps the first <see cref="SinkCount"/> entries (protected) and fills the budget with the most recent
/// ones: the score is the position. Needs nothing from prefill.
/// </summary>
public sealed class StreamingLlmPolicy : ScoringEvictionPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative sink count.</exception>
    public StreamingLlmPolicy(int sinkCount = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sinkCount);
        SinkCount = sinkCount;
    }

    /// <inheritdoc />
    public override string Name => "streamingllm";
    /// <summary>Attention sinks: the entries at the first positions, always kept.</summary>
    public int SinkCount { get; }

    /// <inheritdoc />
    protected override (long From, long To)? ProtectedPositions(KvCache cache) => SinkCount == 0 ? null : (0, SinkCount);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture) =>
        cache.Positions(layer).to(ScalarType.Float32);
}
