namespace TimeBill.Core.Eviction;

/// <summary>
/// PyramidKV (Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling"):
/// attention is broad in the lower layers and concentrates on a few tokens higher up, so lower layers get larger
/// budgets. Budgets fall linearly with depth, from <c>2e − e/β</c> to <c>e/β</c> entries beyond the observation
/// window (<c>e</c> = the uniform budget beyond the window, <see cref="Beta"/> = 20 as in the paper and kvpress),
/// with the same total as the uniform ratio; within a layer entries are scored as in SnapKV.
/// </summary>
public sealed class PyramidKvPolicy : SnapKvPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">β &lt; 1, or a bad window or kernel.</exception>
    public PyramidKvPolicy(int windowSize = 32, int kernelSize = 7, SnapKvPooling pooling = SnapKvPooling.Average, double beta = 20)
        : base(windowSize, kernelSize, pooling)
    {
        if (!(beta >= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta (top-to-bottom budget ratio) must be ≥ 1.");
        Beta = beta;
    }

    /// <inheritdoc />
    public override string Name => "pyramidkv";
    /// <summary>How many times the bottom layer's budget beyond the window exceeds the top layer's, roughly.</summary>
    public double Beta { get; }

    /// <summary>
    /// Per-layer budgets, non-increasing with depth, summing to exactly <c>layers · ceil((1−α)·Nx)</c>; uniform when
    /// the layers differ in length or the window already fills the budget.
    /// </summary>
    public override int[] PlanBudgets(IReadOnlyList<int> lengths, double alpha)
    {
        int[] uniform = base.PlanBudgets(lengths, alpha);
        int layers = lengths.Count;
        if (layers < 2 || lengths.Distinct().Count() != 1) return uniform;
        int length = lengths[0], budget = uniform[0], window = Math.Min(WindowSize, length);
        double extra = budget - window;
        if (extra <= 0 || budget >= length) return uniform;

        double bottom = 2 * extra - extra / Beta, top = extra / Beta;
        if (window + bottom > length)
        {
            bottom = length - window;
            top = Math.Max(0, 2 * extra - bottom);
        }
        var budgets = new int[layers];
        long total = (long)layers * budget, assigned = 0;
        for (int layer = 0; layer < layers; layer++)
        {
            double exact = window + bottom - layer * (bottom - top) / (layers - 1);
            budgets[layer] = Math.Clamp((int)Math.Floor(exact), window, length);
            assigned += budgets[layer];
        }
        // Hand the rounding remainder to the lowest layers first, which keeps the budgets non-increasing.
        for (int layer = 0; assigned < total && layer < layers; layer++)
        {
            if (budgets[layer] >= length) continue;
            budgets[layer]++;
            assigned++;
        }
        return assigned == total ? budgets : uniform;
    }
}
