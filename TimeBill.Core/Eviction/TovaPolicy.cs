using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// TOVA, Token Omission Via Attention (Oren et al. 2024, "Transformers are Multi-State RNNs"): keep the entries the
/// current (last prompt) token attends to most. The score is the last query's attention, softmax per head and
/// averaged over all heads of the layer, so every KV head keeps the same positions as in the paper; the last entry
/// itself is always kept. Recorded during prefill by a one-query <see cref="WindowAttentionCapture"/>.
/// </summary>
public sealed class TovaPolicy : ScoringEvictionPolicy
{
    /// <inheritdoc />
    public override string Name => "tova";

    /// <inheritdoc />
    public override EvictionCapture CreateCapture(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new WindowAttentionCapture(this, config.LayerCount, windowSize: 1);
    }

    /// <inheritdoc />
    protected override (long From, long To)? ProtectedPositions(KvCache cache) => (cache.NextPosition - 1, long.MaxValue);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture)
    {
        var attention = RequireCapture<WindowAttentionCapture>(capture).Statistic(layer, cache);
        return attention.mean([0L], keepdim: true).expand_as(attention);
    }
}
