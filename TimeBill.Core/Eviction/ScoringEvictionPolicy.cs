using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using TimeBill.Kernels;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// The base of every policy that ranks entries (the kvpress "scorer press" shape): a subclass only scores; this
/// class keeps, per layer and KV head, the protected entries plus the best-scored others up to the layer's budget
/// from <see cref="EvictionPolicy.PlanBudgets"/>, selected per head by the <see cref="TopK"/> kernel, and keeps them
/// where they are (<see cref="KvCache.Keep"/>: kept entries stay in cache order and keep their positions; the kernel
/// decode path reads them in place, anything needing them contiguous packs them first). Beyond the policy's scoring
/// no tensor is made and no entry moves, so eviction costs a small fraction of one decode step.
/// </summary>
public abstract class ScoringEvictionPolicy : EvictionPolicy
{
    /// <summary>
    /// Scores the entries of <paramref name="layer"/>: <c>[kvHeads, length]</c>, higher is more worth keeping. Called
    /// inside a dispose scope; return a temporary.
    /// </summary>
    protected abstract Tensor Score(int layer, KvCache cache, EvictionCapture? capture);

    /// <summary>
    /// The positions [From, To) whose entries are always kept (attention sinks, an observation window), or
    /// <c>null</c> for none. <see cref="ProtectedFlags"/> gives the same entries as flags for scoring.
    /// </summary>
    protected virtual (long From, long To)? ProtectedPositions(KvCache cache) => null;

    /// <summary>
    /// Flags <c>[kvHeads, length]</c> (row-major), in <paramref name="flags"/>, of the entries of
    /// <paramref name="layer"/> that <see cref="ProtectedPositions"/> keeps; <c>false</c> (and nothing written) when
    /// it keeps none.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="flags"/> is shorter than <c>kvHeads · length</c>.</exception>
    protected bool ProtectedFlags(int layer, KvCache cache, Span<bool> flags)
    {
        int count = cache.KvHeadCount * cache.Length(layer);
        if (flags.Length < count) throw new ArgumentException($"flags hold {flags.Length} elements; layer {layer} needs {count}.", nameof(flags));
        if (ProtectedPositions(cache) is not var (from, to)) return false;
        FlagPositions(cache, layer, from, to, flags[..count]);
        return true;
    }

    /// <summary>Throws unless <paramref name="capture"/> came from this policy.</summary>
    /// <exception cref="ArgumentException">No capture, or another policy's.</exception>
    protected TCapture RequireCapture<TCapture>(EvictionCapture? capture) where TCapture : EvictionCapture =>
        capture is TCapture typed && ReferenceEquals(capture.Policy, this)
            ? typed
            : throw new ArgumentException(
                $"the {Name} policy scores with statistics from prefill: create them with policy.CreateCapture(config), pass that as the prefill's observer, then give it to Evict"
                + (capture is null ? "." : $" (got a capture of the {capture.Policy.Name} policy)."), nameof(capture));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 code
    protected sealed override void EvictCore(KvCache cache, double alpha, EvictionCapture? capture)
    {
        var lengths = Enumerable.Range(0, cache.LayerCount).Select(cache.Length).ToArray();
        int[] budgets = PlanBudgets(lengths, alpha);
        int kvHeads = cache.KvHeadCount, most = kvHeads * lengths.Max();
        var selection = TopKVariant.Value;
        // Buffers shared by the layers: right after a prefill, fresh managed memory costs page faults (milliseconds).
        bool[] flagBuffer = ArrayPool<bool>.Shared.Rent(Math.Max(most, 1));
        int[] keptBuffer = ArrayPool<int>.Shared.Rent(Math.Max(most, 1));
        try
        {
            for (int layer = 0; layer < cache.LayerCount; layer++)
            {
                using var scope = NewDisposeScope();
                cache.Pack(layer); // a layer evicted before holds its entries in place: scoring reads them in order
                int length = lengths[layer];
                var flags = flagBuffer.AsSpan(0, kvHeads * length);
                flags.Clear();
                int protectedCount = ProtectedPositions(cache) is var (from, to) ? FlagPositions(cache, layer, from, to, flags) : 0;
                int keep = Math.Min(length, Math.Max(budgets[layer], protectedCount));
                if (keep == length) continue;
                var scores = Score(layer, cache, capture).to(ScalarType.Float32).contiguous();
                var kept = keptBuffer.AsSpan(0, kvHeads * keep);
                TopK.Select(MemoryMarshal.Cast<byte, float>(scores.bytes), kvHeads, length, keep, kept, protectedCount > 0 ? flags : default, selection);
                cache.Keep(layer, kept, keep);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(keptBuffer);
            ArrayPool<bool>.Shared.Return(flagBuffer);
        }
    }

    /// <summary>Sets <paramref name="flags"/> [kvHeads, length] where an entry's position is in [from, to); returns the most flags of one head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per request: no tier-0 loop
    private static int FlagPositions(KvCache cache, int layer, long from, long to, Span<bool> flags)
    {
        var positions = cache.PositionStorage(layer);
        int length = cache.Length(layer), most = 0;
        for (int head = 0; head < cache.KvHeadCount; head++)
        {
            int count = 0;
            for (int entry = 0; entry < length; entry++)
            {
                long position = positions[head * cache.Capacity + entry];
                if (position >= from && position < to) { flags[head * length + entry] = true; count++; }
            }
            most = Math.Max(most, count);
        }
        return most;
    }

    /// <summary>The selection variant the tuning table chose (read once per process).</summary>
    private static readonly Lazy<KernelVariant> TopKVariant = new(() => KernelTuningTable.Load().Choose(KernelNames.TopK, ShapeClasses.Any));
}
