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
    /// Sets <paramref name="flags"/>' first <c>kvHeads · length</c> elements (row-major <c>[kvHeads, length]</c>) to
    /// whether each entry of <paramref name="layer"/> is one <see cref="ProtectedPositions"/> keeps; returns the most
    /// entries one head protects (0 when it keeps none).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="flags"/> is shorter than <c>kvHeads · length</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per layer and request: no tier-0 loop
    protected int ProtectedFlags(int layer, KvCache cache, Span<bool> flags)
    {
        int length = cache.Length(layer), count = cache.KvHeadCount * length;
        if (flags.Length < count) throw new ArgumentException($"flags hold {flags.Length} elements; layer {layer} needs {count}.", nameof(flags));
        flags[..count].Clear();
        if (ProtectedPositions(cache) is not var (from, to)) return 0;
        cache.Pack(layer); // positions are read slot by slot
        var positions = cache.PositionStorage(layer);
        int most = 0;
        for (int head = 0; head < cache.KvHeadCount; head++)
        {
            int protectedEntries = 0;
            for (int entry = 0; entry < length; entry++)
            {
                long position = positions[head * cache.Capacity + entry];
                if (position >= from && position < to) { flags[head * length + entry] = true; protectedEntries++; }
            }
            most = Math.Max(most, protectedEntries);
        }
        return most;
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
                int protectedCount = ProtectedFlags(layer, cache, flags);
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

    /// <summary>The selection variant the tuning table chose (read once per process).</summary>
    private static readonly Lazy<KernelVariant> TopKVariant = new(() => KernelTuningTable.Load().Choose(KernelNames.TopK, ShapeClasses.Any));
}
