using System.Diagnostics;
using TimeBill.Core.Cache;
using TimeBill.Core.Model;
using TimeBill.Core.Native;
using static TorchSharp.torch;

namespace TimeBill.Core.Eviction;

/// <summary>
/// Removes a fraction α of the prompt's key/value entries from a <see cref="KvCache"/>, once, right after prefill.
/// α is the fraction removed in <b>every</b> layer and KV head: each keeps <c>ceil((1−α)·Nx)</c> of its
/// <c>Nx</c> entries (<see cref="KeepCount"/>), never fewer than the entries the policy protects (an observation
/// window, attention sinks), so the cache shrinks uniformly unless a policy says otherwise (PyramidKV moves budget
/// between layers at the same total). Kept entries keep their positions; new tokens continue at
/// <see cref="KvCache.NextPosition"/>. Usage:
/// <code>
/// using var capture = policy.CreateCapture(model.Config);   // null when the policy needs nothing from prefill
/// var logits = model.Forward(prompt, cache, observer: capture);
/// policy.Evict(cache, alpha, capture);
/// </code>
/// Policies are stateless and thread-safe; a capture belongs to one prefill.
/// </summary>
public abstract class EvictionPolicy
{
    /// <summary>The policy's short name as used by the CLI and reports (for example <c>snapkv</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// What the policy needs from prefill, as an observer to pass to
    /// <see cref="CausalLanguageModel.Forward(ReadOnlySpan{int}, KvCache, bool, IForwardObserver?)"/>; <c>null</c>
    /// when it needs nothing (then prefill runs exactly as without eviction). Dispose it after <see cref="Evict"/>.
    /// </summary>
    public virtual EvictionCapture? CreateCapture(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return null;
    }

    /// <summary>
    /// Evicts <paramref name="alpha"/> of every layer's and KV head's entries, keeping the best-scored ones.
    /// </summary>
    /// <param name="cache">The cache right after prefill.</param>
    /// <param name="alpha">Fraction removed, in [0, 1). 0 keeps everything.</param>
    /// <param name="capture">The capture from <see cref="CreateCapture"/> that observed this cache's prefill, when the policy made one.</param>
    /// <returns>The entries kept per layer and the time eviction took.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is NaN, negative, or ≥ 1.</exception>
    /// <exception cref="ArgumentException">The policy needs a capture and none (or one of another policy) was given.</exception>
    /// <exception cref="InvalidOperationException">The capture did not observe this cache's prefill.</exception>
    public EvictionResult Evict(KvCache cache, double alpha, EvictionCapture? capture = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ValidateAlpha(alpha);
        TorchSharpNativeLoader.EnsureLoaded();
        var stopwatch = Stopwatch.StartNew();
        var before = new int[cache.LayerCount];
        for (int layer = 0; layer < before.Length; layer++) before[layer] = cache.Length(layer);
        using (no_grad())
            EvictCore(cache, alpha, capture);
        stopwatch.Stop();
        var after = new int[cache.LayerCount];
        for (int layer = 0; layer < after.Length; layer++) after[layer] = cache.Length(layer);
        return new EvictionResult(Name, alpha, before, after, stopwatch.Elapsed);
    }

    /// <summary>Does the eviction; <paramref name="alpha"/> is already validated and grad is off.</summary>
    protected abstract void EvictCore(KvCache cache, double alpha, EvictionCapture? capture);

    /// <summary>
    /// Entries each layer keeps before protection, for layers holding <paramref name="lengths"/> entries:
    /// <see cref="KeepCount"/> for every layer unless the policy redistributes them (PyramidKV).
    /// </summary>
    public virtual int[] PlanBudgets(IReadOnlyList<int> lengths, double alpha)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ValidateAlpha(alpha);
        return lengths.Select(length => KeepCount(length, alpha)).ToArray();
    }

    /// <summary>
    /// <c>ceil((1−α)·length)</c>, at least 1 when <paramref name="length"/> &gt; 0 (a product a rounding error
    /// above an integer, such as (1−0.7)·100, counts as that integer).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Bad <paramref name="alpha"/> or a negative length.</exception>
    public static int KeepCount(int length, double alpha)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ValidateAlpha(alpha);
        if (length == 0) return 0;
        int keep = (int)Math.Ceiling((1 - alpha) * length - 1e-9);
        return Math.Clamp(keep, 1, length);
    }

    /// <summary>Throws unless <paramref name="alpha"/> is a number in [0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">NaN, negative, or ≥ 1.</exception>
    public static void ValidateAlpha(double alpha)
    {
        if (double.IsNaN(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha (the fraction of prompt entries to evict) must be a number in [0, 1); got NaN.");
        if (alpha < 0 || alpha >= 1)
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha (the fraction of prompt entries to evict) must be in [0, 1); got {alpha}. Use 0 to keep every entry.");
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>What one <see cref="EvictionPolicy.Evict"/> call did.</summary>
/// <param name="Policy">The policy's name.</param>
/// <param name="Alpha">The fraction asked to be removed.</param>
/// <param name="Before">Entries per layer before eviction.</param>
/// <param name="After">Entries per layer (every KV head) after eviction.</param>
/// <param name="Elapsed">Wall time of scoring and compaction.</param>
public sealed record EvictionResult(string Policy, double Alpha, IReadOnlyList<int> Before, IReadOnlyList<int> After, TimeSpan Elapsed)
{
    /// <summary>Share of all entries removed across layers.</summary>
    public double RemovedFraction => Before.Sum() == 0 ? 0 : 1 - (double)After.Sum() / Before.Sum();
}
