using TimeBill.Core.Cache;

namespace TimeBill.Core.Eviction;

/// <summary>Keeps every entry whatever α says: the full-cache control of a study, and the planner's choice when time allows.</summary>
public sealed class NoEvictionPolicy : EvictionPolicy
{
    /// <inheritdoc />
    public override string Name => "none";

    /// <inheritdoc />
    public override int[] PlanBudgets(IReadOnlyList<int> lengths, double alpha)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ValidateAlpha(alpha);
        return lengths.ToArray();
    }

    /// <inheritdoc />
    protected override void EvictCore(KvCache cache, double alpha, EvictionCapture? capture) { }
}
