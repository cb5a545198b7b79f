using TimeBill.Kernels.Tuning;

namespace TimeBill.Core.Generation;

/// <summary>How a <see cref="GenerationEngine"/> runs its model; fixed for the engine's life.</summary>
public sealed record EngineOptions
{
    /// <summary>Prompt tokens per prefill chunk when none is configured.</summary>
    public const int DefaultPrefillChunkSize = 256;

    /// <summary>Hold the decode kernels' matrices as bfloat16 (half the bytes per token; logits within bfloat16 rounding).</summary>
    public bool BFloat16Weights { get; init; }
    /// <summary>Threads a decode-step product may use; null: libtorch's thread count.</summary>
    public int? Threads { get; init; }
    /// <summary>Kernel variants; null: the machine's tuning table (<see cref="KernelTuningTable.Load"/>).</summary>
    public KernelTuningTable? Tuning { get; init; }
    /// <summary>
    /// Prompt tokens per prefill chunk. Cancellation and the deadline are checked between chunks, so a prefill that
    /// would overrun its budget stops early; a multiple of the prefill attention block (128) costs nothing extra.
    /// </summary>
    public int PrefillChunkSize { get; init; } = DefaultPrefillChunkSize;

    /// <summary>Default <see cref="PrefixCacheBytes"/>: 256 MiB.</summary>
    public const long DefaultPrefixCacheBytes = 256L << 20;

    /// <summary>
    /// Bytes the engine may keep of earlier prompts' keys and values (<see cref="Cache.PrefixCache"/>), so a prompt
    /// that starts like an earlier one prefills only the rest; 0 turns prefix reuse off.
    /// </summary>
    public long PrefixCacheBytes { get; init; } = DefaultPrefixCacheBytes;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A thread count or chunk size below 1, or a negative prefix cache size.</exception>
    public void Validate()
    {
        if (PrefixCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(PrefixCacheBytes), PrefixCacheBytes, "the prefix cache size must be 0 (off) or more.");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "the thread count must be at least 1.");
        if (PrefillChunkSize < 1) throw new ArgumentOutOfRangeException(nameof(PrefillChunkSize), PrefillChunkSize, "the prefill chunk size must be at least 1.");
    }
}
