using System.Runtime.InteropServices;
using TimeBill.Core.Cache;
using TimeBill.Kernels;
using TimeBill.Kernels.Tuning;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// The base of every policy that ranks entries (the kvpress "scorer press" shape): a subclass only scores; this
/// class keeps, per layer and KV head, the protected entries plus the best-scored others up to the layer's budget
/// from <see cref="EvictionPolicy.PlanBudgets"/>, selected per head by the <see cref="TopK"/> kernel, and compacts
/// the cache in place (kept entries stay in cache order and keep their positions). Beyond the policy's scoring no
/// tensor is made, so eviction costs a small fraction of one decode step.
/// </summary>
public abstract class ScoringEvictionPolicy : EvictionPolicy
{
    /// <summary>
    /// Scores the entries of <paramref name="layer"/>: <c>[kvHeads, length]</c>, higher is more worth keeping. Called
    /// inside a dispose scope; return a temporary.
    /// </summary>
    protected abstract Tensor Score(int layer, KvCache cache, EvictionCapture? capture);

    /// <summary>
    /// Entries of <paramref name="layer"/> that are always kept, <c>[kvHeads, length]</c> bool, or <c>null</c> for none.
    /// </summary>
    protected virtual Tensor? Protected(int layer, KvCache cache) => null;

    /// <summary>Throws unless <paramref name="capture"/> came from this policy.</summary>
    /// <exception cref="ArgumentException">No capture, or another policy's.</exception>
    protected TCapture RequireCapture<TCapture>(EvictionCapture? capture) where TCapture : EvictionCapture =>
        capture is TCapture typed && ReferenceEquals(capture.Policy, this)
            ? typed
            : throw new ArgumentException(
                $"the {Name} policy scores with statistics from prefill: create them with policy.CreateCapture(config), pass that as the prefill's observer, then give it to Evict"
                + (capture is null ? "." : $" (got a capture of the {capture.Policy.Name} policy)."), nameof(capture));

    /// <inheritdoc />
    protected sealed override void EvictCore(KvCache cache, double alpha, EvictionCapture? capture)
    {
        var lengths = Enumerable.Range(0, cache.LayerCount).Select(cache.Length).ToArray();
        int[] budgets = PlanBudgets(lengths, alpha);
        int kvHeads = cache.KvHeadCount;
        var selection = TopKVariant.Value;
        for (int layer = 0; layer < cache.LayerCount; layer++)
        {
            using var scope = NewDisposeScope();
            int length = lengths[layer];
            ReadOnlySpan<bool> protectedFlags = default;
            int protectedCount = 0;
            if (Protected(layer, cache) is { } mask)
            {
                protectedFlags = MemoryMarshal.Cast<byte, bool>(mask.to(ScalarType.Bool).contiguous().bytes);
                for (int head = 0; head < kvHeads; head++)
                    protectedCount = Math.Max(protectedCount, protectedFlags.Slice(head * length, length).Count(true));
            }
            int keep = Math.Min(length, Math.Max(budgets[layer], protectedCount));
            if (keep == length) continue;
            var scores = Score(layer, cache, capture).to(ScalarType.Float32).contiguous();
            var kept = new int[kvHeads * keep];
            TopK.Select(MemoryMarshal.Cast<byte, float>(scores.bytes), kvHeads, length, keep, kept, protectedFlags, selection);
            cache.Compact(layer, kept, keep);
        }
    }

    /// <summary>The selection variant the tuning table chose (read once per process).</summary>
    private static readonly Lazy<KernelVariant> TopKVariant = new(() => KernelTuningTable.Load().Choose(KernelNames.TopK, ShapeClasses.Any));

    /// <summary>A <c>[kvHeads, length]</c> mask of the entries whose position is in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    protected static Tensor PositionsBetween(int layer, KvCache cache, long from, long to)
    {
        var positions = cache.Positions(layer);
        return (positions >= from).logical_and(positions < to);
    }
}
