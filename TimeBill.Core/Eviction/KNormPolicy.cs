using System.Runtime.CompilerServices;
using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// KNorm (Devoto et al. 2024, "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression"): keys with a
/// small L2 norm tend to receive high attention, so the score is <c>−‖k‖</c>. Needs nothing from prefill, works with
/// any attention kernel, and costs one norm per cached key (rotation does not change the norm).
/// </summary>
public sealed class KNormPolicy : ScoringEvictionPolicy
{
    /// <inheritdoc />
    public override string Name => "knorm";

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture) =>
        cache.Keys(layer).norm(-1, keepdim: false).neg();
}
