using System.Globalization;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One budget of the control-loop evaluation as given on the command line: milliseconds (<c>250</c>), or a percentile of
/// the measured vanilla latencies of the reference pass, cold (<c>cold-p50</c>: prefix reuse off) or warm
/// (<c>warm-p90</c>: the system prompt cached).
/// </summary>
internal sealed record LoopBudget(string Label, double? Milliseconds, bool Warm, double Percentile)
{
    /// <summary>Parses a comma-separated list.</summary>
    /// <exception cref="ArgumentException">An empty list or an item that is neither a positive number nor cold-pNN / warm-pNN.</exception>
    public static IReadOnlyList<LoopBudget> ParseList(string text)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        if (items.Count == 0) throw new ArgumentException("--budgets lists no budget.");
        return items;
    }

    private static LoopBudget Parse(string item)
    {
        if (double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms))
            return ms > 0 ? new LoopBudget($"{item} ms", ms, false, 0) : throw new ArgumentException($"--budgets: a budget must be positive, not {item}.");
        string lower = item.ToLowerInvariant();
        bool warm = lower.StartsWith("warm-p", StringComparison.Ordinal);
        if ((warm || lower.StartsWith("cold-p", StringComparison.Ordinal))
            && double.TryParse(lower[6..], NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p is > 0 and <= 100)
            return new LoopBudget(lower, null, warm, p);
        throw new ArgumentException($"--budgets: '{item}' is neither milliseconds nor cold-pNN / warm-pNN (a percentile of the measured vanilla latency, 0 < NN ≤ 100).");
    }

    /// <summary>The budget in milliseconds, given the reference pass's sorted cold and warm vanilla latencies.</summary>
    public double Resolve(IReadOnlyList<double> coldSorted, IReadOnlyList<double> warmSorted) =>
        Milliseconds ?? BudgetEvaluationRow.Percentile(Warm ? warmSorted : coldSorted, Percentile / 100);
}
