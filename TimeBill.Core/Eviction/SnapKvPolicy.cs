using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using TimeBill.Kernels;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>How SnapKV smooths the window's attention along the prompt.</summary>
public enum SnapKvPooling
{
    /// <summary>1-D average pooling (the SnapKV and kvpress default).</summary>
    Average,
    /// <summary>1-D max pooling.</summary>
    Max,
}

/// <summary>
/// SnapKV (Li et al. 2024, "SnapKV: LLM Knows What You are Looking for Before Generation"): the last
/// <see cref="WindowSize"/> prompt tokens form an observation window whose attention already shows what generation
/// will attend to. Each prefix entry is scored by the attention the window's queries pay it, softmax per query,
/// summed over the window and over the query heads that share the KV head, then smoothed with 1-D pooling of
/// <see cref="KernelSize"/> (the <see cref="EvictionScores"/> kernels) so that clustered neighbours of important tokens are kept with them. The window itself
/// is always kept. The window's attention is recorded during prefill by a <see cref="WindowAttentionCapture"/>.
/// </summary>
public class SnapKvPolicy : ScoringEvictionPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive window, or a kernel that is not a positive odd number.</exception>
    public SnapKvPolicy(int windowSize = 32, int kernelSize = 7, SnapKvPooling pooling = SnapKvPooling.Average)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        if (kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "the pooling kernel must be odd so scores stay aligned with entries.");
        WindowSize = windowSize;
        KernelSize = kernelSize;
        Pooling = pooling;
    }

    /// <inheritdoc />
    public override string Name => "snapkv";
    /// <summary>Observation window: the last prompt tokens whose queries score the prefix; always kept.</summary>
    public int WindowSize { get; }
    /// <summary>Pooling kernel width.</summary>
    public int KernelSize { get; }
    /// <summary>Pooling kind.</summary>
    public SnapKvPooling Pooling { get; }

    /// <inheritdoc />
    public override EvictionCapture CreateCapture(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new WindowAttentionCapture(this, config.LayerCount, WindowSize);
    }

    /// <inheritdoc />
    protected override (long From, long To)? ProtectedPositions(KvCache cache) => (cache.NextPosition - WindowSize, long.MaxValue);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected override Tensor Score(int layer, KvCache cache, EvictionCapture? capture)
    {
        var attention = RequireCapture<WindowAttentionCapture>(capture).Statistic(layer, cache).to(ScalarType.Float32).contiguous();
        int kvHeads = cache.KvHeadCount, length = cache.Length(layer), count = kvHeads * length;
        // SnapKV pools the prefix only: zero the (protected, always kept) window so its large near-diagonal
        // attention does not leak into the prefix entries next to it; zeros are also what the padding adds.
        // Pooled buffers: right after a prefill, fresh managed memory costs page faults (milliseconds per layer).
        float[] prefix = ArrayPool<float>.Shared.Rent(count);
        bool[] window = ArrayPool<bool>.Shared.Rent(count);
        try
        {
            MemoryMarshal.Cast<byte, float>(attention.bytes).CopyTo(prefix);
            if (ProtectedFlags(layer, cache, window) > 0)
                for (int i = 0; i < count; i++)
                    if (window[i]) prefix[i] = 0f;
            var scores = empty([kvHeads, length], ScalarType.Float32);
            var pooled = MemoryMarshal.Cast<byte, float>(scores.bytes);
            if (Pooling == SnapKvPooling.Max) EvictionScores.MaxPool(prefix.AsSpan(0, count), kvHeads, length, KernelSize, pooled);
            else EvictionScores.AveragePool(prefix.AsSpan(0, count), kvHeads, length, KernelSize, pooled);
            return scores;
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(window);
            ArrayPool<float>.Shared.Return(prefix);
        }
    }
}
